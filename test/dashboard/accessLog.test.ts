import { describe, expect, it } from "vitest"
import type { AuditRecord } from "../../dashboard/src/state/accessLog.js"
import { describeAudit, newAddressSignIns, olderPage } from "../../dashboard/src/state/accessLog.js"

const rec = (seq: number, kind: string, detail: AuditRecord["detail"] = {}): AuditRecord => ({
  chain: "user:carol",
  seq,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  kind,
  user_id: "carol",
  detail
})
const signIn = (seq: number, client: string, via = "form") => rec(seq, "auth_ok", { via, key_id: "k1", client })

describe("access log: new address", () => {
  it("marks a sign-in from an address no earlier sign-in came from, not the first one", () => {
    const records = [
      signIn(1, "127.0.0.1", "tunnel"),
      rec(2, "tunnel_connected", { daemon_id: "laptop", key_id: "k1", client: "127.0.0.1" }),
      signIn(3, "127.0.0.1"),
      rec(4, "request", { method: "GET", path: "/health", status: 200, client: "198.51.100.9" }),
      signIn(5, "203.0.113.7"),
      signIn(6, "203.0.113.7"),
      signIn(7, "127.0.0.1")
    ]
    expect([...newAddressSignIns(records)]).toEqual([5])
  })

  it("only sign-ins count as seen: an address seen in other records is still new for a sign-in", () => {
    const records = [
      signIn(1, "127.0.0.1"),
      rec(2, "request", { method: "GET", path: "/", status: 200, client: "203.0.113.7" }),
      rec(3, "auth_failed", { via: "form", client: "203.0.113.8" }),
      signIn(4, "203.0.113.7"),
      signIn(5, "203.0.113.8")
    ]
    expect([...newAddressSignIns(records)].sort()).toEqual([4, 5])
  })

  it("does not depend on the order records are given in", () => {
    const records = [signIn(3, "10.0.0.2"), signIn(1, "10.0.0.1"), signIn(2, "10.0.0.1")]
    expect([...newAddressSignIns(records)]).toEqual([3])
  })

  it("a chain with one sign-in, or none, marks nothing", () => {
    expect(newAddressSignIns([signIn(1, "10.0.0.1")]).size).toBe(0)
    expect(newAddressSignIns([]).size).toBe(0)
  })
})

describe("access log: rows and pages", () => {
  it("describes a request with method, path, status and bytes", () => {
    const line = describeAudit(
      rec(9, "request", { method: "POST", path: "/ask", status: 201, bytes_in: 310, bytes_out: 120, client: "::1" })
    )
    expect(line).toEqual({ label: "request", text: "POST /ask → 201 · 310 B in, 120 B out" })
    expect(describeAudit(rec(1, "auth_failed", { via: "form" })).label).toBe("sign-in failed")
  })

  it("pages backwards from the head to seq 1", () => {
    expect(olderPage(11, 200)).toEqual({ since: 0, limit: 10 })
    expect(olderPage(501, 200)).toEqual({ since: 300, limit: 200 })
    expect(olderPage(301, 200)).toEqual({ since: 100, limit: 200 })
    expect(olderPage(1, 200)).toBeNull()
  })
})
