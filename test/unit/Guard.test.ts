import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeAuthToken } from "../../src/layers/AuthTokenLive.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { makeAdmission, type RequestHead, type Verdict } from "../../src/programs/daemon/Guard.js"
import { Config } from "../../src/services/Config.js"

const PORT = 8377
const TOKEN = "s3cret-token-long-enough-for-config"
const HOST = `127.0.0.1:${PORT}`

/** A verdict in one line: what it is, the refusal's status, and its flags. */
const summary = (verdict: Verdict): string => {
  switch (verdict._tag) {
    case "Preflight":
      return "preflight"
    case "Admit":
      return ["admit", ...(verdict.bounded ? [] : ["unbounded"]), ...(verdict.chunked ? ["chunked"] : [])].join(" ")
    case "Refuse": {
      const status = (verdict.error.constructor as unknown as { readonly status: number }).status
      return [`refuse ${status}`, ...(verdict.cors ? ["cors"] : []), ...(verdict.close ? ["close"] : [])].join(" ")
    }
  }
}

interface Row {
  readonly name: string
  readonly method?: string
  readonly url?: string
  readonly headers?: Record<string, string>
  readonly tunnelled?: boolean
  /** The request carries an open dashboard session cookie. */
  readonly session?: boolean
  /** The client has already presented this many wrong tokens within the window. */
  readonly wrongBefore?: number
  readonly expect: string
}

const bearer = { authorization: `Bearer ${TOKEN}` }
const json = { ...bearer, "content-type": "application/json" }

const rows: ReadonlyArray<Row> = [
  // Host: only loopback names with this daemon's port (DNS rebinding sends the attacker's name).
  { name: "Host 127.0.0.1 with port", headers: bearer, expect: "admit" },
  { name: "Host localhost with port", headers: { ...bearer, host: `localhost:${PORT}` }, expect: "admit" },
  { name: "Host [::1] with port", headers: { ...bearer, host: `[::1]:${PORT}` }, expect: "admit" },
  { name: "Host is case-insensitive", headers: { ...bearer, host: `LOCALHOST:${PORT}` }, expect: "admit" },
  { name: "Host loopback without port", headers: { ...bearer, host: "localhost" }, expect: "refuse 403" },
  { name: "Host loopback, another port", headers: { ...bearer, host: "127.0.0.1:9999" }, expect: "refuse 403" },
  { name: "Host foreign", headers: { ...bearer, host: "example.com" }, expect: "refuse 403" },
  { name: "Host DNS rebinding", headers: { ...bearer, host: `evil.example.com:${PORT}` }, expect: "refuse 403" },
  { name: "Host 0.0.0.0", headers: { ...bearer, host: `0.0.0.0:${PORT}` }, expect: "refuse 403" },
  { name: "Host missing", headers: { ...bearer, host: "" }, expect: "refuse 403" },
  // Origin: the local dashboard and the relay's browser origin; nothing else, not even "null".
  { name: "Origin local dashboard", headers: { ...bearer, origin: `http://127.0.0.1:${PORT}` }, expect: "admit" },
  { name: "Origin relay", headers: { ...bearer, origin: "https://relay.example.com" }, expect: "admit" },
  { name: "Origin foreign", headers: { ...bearer, origin: "https://evil.example.com" }, expect: "refuse 403" },
  { name: "Origin null", headers: { ...bearer, origin: "null" }, expect: "refuse 403" },
  {
    name: "Origin loopback, another port",
    headers: { ...bearer, origin: "http://127.0.0.1:9999" },
    expect: "refuse 403"
  },
  {
    name: "preflight from an allowed origin",
    method: "OPTIONS",
    headers: { origin: `http://localhost:${PORT}` },
    expect: "preflight"
  },
  {
    name: "preflight from a foreign origin",
    method: "OPTIONS",
    headers: { origin: "https://evil.example.com" },
    expect: "refuse 403"
  },
  // Tunnelled: the relay's allow-list, no Host check, no token (the relay authenticated the user).
  { name: "tunnelled GET /peers", url: "/peers", tunnelled: true, headers: { host: "relay" }, expect: "admit" },
  {
    name: "tunnelled POST /ask",
    method: "POST",
    url: "/ask",
    tunnelled: true,
    headers: { "content-type": "application/json" },
    expect: "admit"
  },
  { name: "tunnelled POST /peers refused", method: "POST", url: "/peers", tunnelled: true, expect: "refuse 404" },
  { name: "tunnelled /mcp refused", method: "POST", url: "/mcp", tunnelled: true, expect: "refuse 404" },
  { name: "tunnelled /ws refused", url: "/ws", tunnelled: true, expect: "refuse 404" },
  { name: "tunnelled dot segments refused", url: "/dashboard/../peers", tunnelled: true, expect: "refuse 404" },
  { name: "tunnelled encoded slash refused", url: "/asks/a%2fb", tunnelled: true, expect: "refuse 404" },
  {
    name: "tunnelled foreign Origin refused",
    url: "/peers",
    tunnelled: true,
    headers: { origin: "https://evil.example.com" },
    expect: "refuse 403"
  },
  // The auth token.
  { name: "token missing", headers: {}, expect: "refuse 401 cors" },
  { name: "token wrong", headers: { authorization: "Bearer nope" }, expect: "refuse 401 cors" },
  { name: "token not Bearer", headers: { authorization: `Basic ${TOKEN}` }, expect: "refuse 401 cors" },
  { name: "token right after 19 wrong", wrongBefore: 19, headers: bearer, expect: "admit" },
  { name: "token limited after 20 wrong", wrongBefore: 20, headers: bearer, expect: "refuse 429 cors" },
  { name: "public /health without token", url: "/health", headers: {}, expect: "admit" },
  { name: "public /dashboard without token", url: "/dashboard/app.js", headers: {}, expect: "admit" },
  { name: "public /ws without token", url: "/ws", headers: {}, expect: "admit" },
  { name: "dashboard session instead of token", headers: {}, session: true, expect: "admit" },
  {
    name: "dashboard session does not lift Host",
    headers: { host: "evil.example.com" },
    session: true,
    expect: "refuse 403"
  },
  // Content types: one per route.
  { name: "POST JSON", method: "POST", url: "/ask", headers: json, expect: "admit" },
  {
    name: "POST JSON with charset",
    method: "POST",
    url: "/ask",
    headers: { ...json, "content-type": "application/json; charset=utf-8" },
    expect: "admit"
  },
  {
    name: "POST text/plain",
    method: "POST",
    url: "/ask",
    headers: { ...bearer, "content-type": "text/plain" },
    expect: "refuse 415 cors close"
  },
  {
    name: "POST form to /ask",
    method: "POST",
    url: "/ask",
    headers: { ...bearer, "content-type": "application/x-www-form-urlencoded" },
    expect: "refuse 415 cors close"
  },
  {
    name: "POST body without type",
    method: "POST",
    url: "/ask",
    headers: { ...bearer, "content-length": "12" },
    expect: "refuse 415 cors close"
  },
  {
    name: "POST without body or type",
    method: "POST",
    url: "/asks/ask_1/wait",
    headers: { ...bearer, "content-length": "0" },
    expect: "admit"
  },
  {
    name: "POST form to login",
    method: "POST",
    url: "/dashboard/login",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    expect: "admit"
  },
  {
    name: "POST multipart to /attachments",
    method: "POST",
    url: "/attachments",
    headers: { ...bearer, "content-type": "multipart/form-data; boundary=x" },
    expect: "admit unbounded"
  },
  {
    name: "POST JSON to /attachments",
    method: "POST",
    url: "/attachments",
    headers: json,
    expect: "refuse 415 cors close"
  },
  // Body sizes (limit 1000 here).
  {
    name: "declared length at the limit",
    method: "POST",
    url: "/ask",
    headers: { ...json, "content-length": "1000" },
    expect: "admit"
  },
  {
    name: "declared length over the limit",
    method: "POST",
    url: "/ask",
    headers: { ...json, "content-length": "1001" },
    expect: "refuse 413 cors close"
  },
  {
    name: "attachments are not bounded by it",
    method: "POST",
    url: "/attachments",
    headers: { ...bearer, "content-type": "multipart/form-data; boundary=x", "content-length": "5000" },
    expect: "admit unbounded"
  },
  {
    name: "chunked body",
    method: "POST",
    url: "/ask",
    headers: { ...json, "transfer-encoding": "chunked" },
    expect: "admit chunked"
  },
  {
    name: "chunked with a declared length",
    method: "POST",
    url: "/ask",
    headers: { ...json, "transfer-encoding": "chunked", "content-length": "10" },
    expect: "admit"
  }
]

// The plain tunnel's rules (relay.e2e: off); test/sealed/E2eAdmission.test.ts has the sealed ones.
const config = ConfigMemory("/nonexistent-repowire-home", {
  daemon: { auth_token: TOKEN, max_body_bytes: 1000 },
  relay: {
    enabled: true,
    url: "wss://relay.example.com",
    api_key: "rw_test_key_0123456789abcdef",
    daemon_id: "laptop",
    e2e: "off"
  }
})

layer(config)("Guard admission", (it) => {
  describe("one request head each", () => {
    rows.forEach((row, i) =>
      it.effect(row.name, () =>
        Effect.gen(function*() {
          const auth = makeAuthToken({ token: TOKEN, humanCredential: "human" })
          const admit = makeAdmission({ config: yield* Config, auth, port: () => PORT })
          const client = `10.0.0.${i}`
          for (let n = 0; n < (row.wrongBefore ?? 0); n++) auth.check("wrong", client)
          const session = row.session === true ? auth.openSession(undefined).id : undefined
          const head: RequestHead = {
            method: row.method ?? "GET",
            url: row.url ?? "/peers",
            headers: { host: HOST, ...row.headers },
            tunnelled: row.tunnelled ?? false,
            client
          }
          if (head.headers["host"] === "") delete (head.headers as Record<string, string | undefined>)["host"]
          assert.strictEqual(summary(admit(head, () => auth.sessionValid(session))), row.expect)
        }))
    )
  })

  it.effect("the wrong-token limit is per client and lifts after the window", () =>
    Effect.gen(function*() {
      let now = 1_000_000
      const auth = makeAuthToken({ token: TOKEN, humanCredential: "human", now: () => now })
      const admit = makeAdmission({ config: yield* Config, auth, port: () => PORT })
      const head = (client: string, token: string): RequestHead => ({
        method: "GET",
        url: "/peers",
        headers: { host: HOST, authorization: `Bearer ${token}` },
        tunnelled: false,
        client
      })
      const verdicts = Array.from({ length: 21 }, () => summary(admit(head("a", "nope"), () => false)))
      assert.deepStrictEqual(verdicts.slice(0, 20), Array(20).fill("refuse 401 cors"))
      assert.strictEqual(verdicts[20], "refuse 429 cors")
      assert.strictEqual(summary(admit(head("a", TOKEN), () => false)), "refuse 429 cors", "even the right token")
      assert.strictEqual(summary(admit(head("b", TOKEN), () => false)), "admit", "another client is not limited")
      now += 61_000
      assert.strictEqual(summary(admit(head("a", TOKEN), () => false)), "admit")
    }))

  it.effect("without an auth token configured, a request needs none", () =>
    Effect.gen(function*() {
      const auth = makeAuthToken({ token: undefined, humanCredential: "human" })
      const admit = makeAdmission({ config: yield* Config, auth, port: () => PORT })
      const verdict = admit(
        { method: "GET", url: "/peers", headers: { host: HOST }, tunnelled: false, client: "c" },
        () => false
      )
      assert.strictEqual(summary(verdict), "admit")
    }))
})
