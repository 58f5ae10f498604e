import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { checkpointSigned, loadSigner } from "../../../src/layers/audit/AuditKey.js"
import { linkBatch, recordsOf } from "../../../src/layers/audit/Batch.js"
import { canonicalize } from "../../../src/layers/audit/Canonical.js"
import { canonicalBody, hashText, link, linkText, recordHash } from "../../../src/layers/audit/Chain.js"
import { verifyChain } from "../../../src/layers/audit/Verify.js"
import {
  type AuditCheckpoint,
  type AuditRecord,
  GENESIS,
  GLOBAL_CHAIN,
  userChain
} from "../../../src/protocol/Audit.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "rw-audit-unit-"))

/** A chain of `n` records and its signed checkpoints every `every` records (and at the end). */
const makeChain = (n: number, every = 4) => {
  const signer = loadSigner(tmp())
  const records: Array<AuditRecord> = []
  const checkpoints: Array<AuditCheckpoint> = []
  let head = { seq: 0, hash: GENESIS }
  for (let i = 0; i < n; i++) {
    const r = link(head, {
      chain: "user:alice",
      at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      kind: "request",
      user_id: "alice",
      detail: { method: "GET", path: `/peers/${i}`, status: 200 }
    })
    records.push(r)
    head = r
    if (r.seq % every === 0 || i === n - 1) {
      checkpoints.push(signer.sign({ chain: "user:alice", seq: r.seq, hash: r.hash, at: r.at, cut: false }))
    }
  }
  return { signer, records, checkpoints, head: { seq: head.seq, hash: head.hash } }
}

const broken = (result: ReturnType<typeof verifyChain>) => {
  assert.isTrue(Either.isLeft(result), "verification should fail")
  return Either.isLeft(result) ? result.left : (undefined as never)
}

describe("hash chain", () => {
  it("hash = SHA-256(prev_hash bytes ‖ canonical JSON of the body)", () => {
    const r = link({ seq: 0, hash: GENESIS }, {
      chain: "global",
      at: "2026-01-01T00:00:00.000Z",
      kind: "auth_failed",
      user_id: null,
      detail: { via: "browser", client: "10.0.0.1" }
    })
    const expected = createHash("sha256").update(Buffer.alloc(32)).update(
      `{"at":"2026-01-01T00:00:00.000Z","chain":"global","detail":{"client":"10.0.0.1","via":"browser"},"kind":"auth_failed","seq":1,"user_id":null}`
    ).digest("hex")
    assert.strictEqual(r.hash, expected)
    assert.strictEqual(recordHash(r.prev_hash, r), expected)
    assert.strictEqual(r.seq, 1)
    assert.strictEqual(r.prev_hash, GENESIS)
  })

  it("hashText is SHA-256 over prev_hash's bytes then the body's UTF-8, for any body length", () => {
    const reference = (prev: string, body: string) =>
      createHash("sha256").update(Buffer.from(prev, "hex")).update(body, "utf8").digest("hex")
    const prev = "0123456789abcdef".repeat(4)
    const bodies = ["", "{}", "\u00e9\u20ac\ud83d\ude00\ud800", "x".repeat(5000), "\u20ac".repeat(3000), "short again"]
    for (const body of bodies) assert.strictEqual(hashText(prev, body), reference(prev, body), body.slice(0, 20))
    // Whatever prev_hash holds (the verifier is handed stored text): the same bytes as Buffer.from(…, "hex").
    for (const odd of ["", "ab", "zz", "AB".repeat(32), "ab".repeat(40)]) {
      assert.strictEqual(hashText(odd, "{}"), reference(odd, "{}"), odd)
    }
  })

  it("the writer's fast path hashes exactly what the verifier recomputes", () => {
    const detail = { path: "/p\u2028\"q\"", status: 200, sealed: false, n: 1e21, client: "::1", none: null }
    for (const user_id of [null, "u_\u00e9\ud83d\ude00"]) {
      const body = { chain: "user:x", at: "2026-12-03T07:00:00.000Z", kind: "request" as const, user_id }
      const fast = linkText({ seq: 41, hash: "ab".repeat(32) }, body, canonicalize(detail))
      assert.strictEqual(
        canonicalBody({ ...body, seq: 42 }, canonicalize(detail)),
        canonicalize({ ...body, seq: 42, detail })
      )
      assert.strictEqual(fast.hash, recordHash("ab".repeat(32), { ...body, seq: 42, detail }))
    }
  })

  it("a batch links each event onto the global chain and its user's, as the reference link does", () => {
    const ms = Date.parse("2026-12-03T07:00:00.000Z")
    // Users interleaved, one without a user, several events in one millisecond.
    const events = [["alice", 0], ["bob", 0], [null, 0], ["alice", 1], ["u_\u00e9", 1], ["bob", 7]].map((
      [user_id, dt],
      i
    ) => ({ kind: "request" as const, user_id: user_id as string | null, ms: ms + (dt as number), detail: { i } }))
    const chains = ["global", "user:alice", "user:bob", "user:u_\u00e9"]
    const heads = new Map(
      chains.map((chain) => [chain, { chain, seq: 0, hash: GENESIS, checkpoint_seq: 0, checkpoint_ms: 0 }])
    )
    const { rows } = linkBatch(events, heads, 1000, loadSigner(tmp()))
    assert.strictEqual(rows.length, events.length, "one row per event")
    const reference = new Map(chains.map((chain) => [chain, { seq: 0, hash: GENESIS }]))
    const expected = events.flatMap((e) =>
      [GLOBAL_CHAIN, ...(e.user_id === null ? [] : [userChain(e.user_id)])].map((chain) => {
        const r = link(reference.get(chain)!, {
          chain,
          at: new Date(e.ms).toISOString(),
          kind: e.kind,
          user_id: e.user_id,
          detail: e.detail
        })
        reference.set(chain, r)
        return { ...r, detail: canonicalize(r.detail) }
      })
    )
    assert.deepStrictEqual(recordsOf(rows), expected)
    assert.deepStrictEqual(
      [...heads.values()].map((h) => [h.chain, h.seq, h.hash]),
      [...reference].map(([c, r]) => [c, r.seq, r.hash])
    )
  })

  it("an untouched chain verifies, and names its newest checkpoint", () => {
    const c = makeChain(10)
    const result = verifyChain({ chain: "user:alice", ...c, publicKey: c.signer.publicKey })
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      assert.strictEqual(result.right.records, 10)
      assert.strictEqual(result.right.checkpoint?.seq, 10)
    }
  })

  it("checkpoint signatures verify with the public key only, and not after any change", () => {
    const c = makeChain(4)
    const cp = c.checkpoints[0]!
    assert.isTrue(checkpointSigned(c.signer.publicKey, cp))
    assert.isFalse(checkpointSigned(c.signer.publicKey, { ...cp, seq: 3 }))
    assert.isFalse(checkpointSigned(loadSigner(tmp()).publicKey, cp))
  })
})

describe("tampering is found and named", () => {
  it("edit: a changed record fails at its seq", () => {
    const c = makeChain(10)
    const records = c.records.map((r) => r.seq === 6 ? { ...r, detail: { ...r.detail, status: 403 } } : r)
    const e = broken(verifyChain({ chain: "user:alice", ...c, records, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 6)
    assert.strictEqual(e.problem, "edited")
  })

  it("edit with a recomputed hash: the next record's link names it", () => {
    const c = makeChain(10)
    const records = c.records.map((r) => {
      if (r.seq !== 6) return r
      const edited = { ...r, detail: { ...r.detail, path: "/elsewhere" } }
      return { ...edited, hash: recordHash(edited.prev_hash, edited) }
    })
    const e = broken(verifyChain({ chain: "user:alice", ...c, records, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 6)
    assert.strictEqual(e.problem, "edited")
  })

  it("delete: a missing record is named", () => {
    const c = makeChain(10)
    const records = c.records.filter((r) => r.seq !== 3)
    const e = broken(verifyChain({ chain: "user:alice", ...c, records, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 3)
    assert.strictEqual(e.problem, "deleted")
  })

  it("delete at the start: missing first records without a signed cut", () => {
    const c = makeChain(10)
    const records = c.records.filter((r) => r.seq > 2)
    const e = broken(verifyChain({ chain: "user:alice", ...c, records, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 1)
    assert.strictEqual(e.problem, "deleted")
  })

  it("reorder: two records swapped in place, or renumbered into each other's seq", () => {
    const c = makeChain(10)
    const swapped = [...c.records]
    ;[swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!]
    const e = broken(verifyChain({ chain: "user:alice", ...c, records: swapped, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 5)
    assert.strictEqual(e.problem, "reordered")
    const renumbered = c.records.map((r) => r.seq === 5 ? { ...r, seq: 6 } : r.seq === 6 ? { ...r, seq: 5 } : r)
      .sort((a, b) => a.seq - b.seq)
    const f = broken(verifyChain({ chain: "user:alice", ...c, records: renumbered, publicKey: c.signer.publicKey }))
    assert.strictEqual(f.seq, 5)
    assert.strictEqual(f.problem, "reordered")
  })

  it("truncate: records cut off before a signed checkpoint", () => {
    const c = makeChain(10)
    const records = c.records.filter((r) => r.seq <= 7)
    const e = broken(
      verifyChain({ chain: "user:alice", records, checkpoints: c.checkpoints, publicKey: c.signer.publicKey })
    )
    assert.strictEqual(e.seq, 8)
    assert.strictEqual(e.problem, "truncated")
  })

  it("forged checkpoint: signed by another key, or altered after signing", () => {
    const c = makeChain(10)
    const other = loadSigner(tmp())
    const forged = other.sign({ chain: "user:alice", seq: 8, hash: c.records[7]!.hash, at: "x", cut: false })
    const e = broken(
      verifyChain({
        chain: "user:alice",
        ...c,
        checkpoints: [...c.checkpoints.filter((x) => x.seq !== 8), forged],
        publicKey: c.signer.publicKey
      })
    )
    assert.strictEqual(e.seq, 8)
    assert.strictEqual(e.problem, "forged_checkpoint")
    const altered = c.checkpoints.map((x) => x.seq === 4 ? { ...x, hash: c.records[2]!.hash } : x)
    const f = broken(verifyChain({ chain: "user:alice", ...c, checkpoints: altered, publicKey: c.signer.publicKey }))
    assert.strictEqual(f.seq, 4)
    assert.strictEqual(f.problem, "forged_checkpoint")
  })

  it("a whole history rewritten after a checkpoint fails at the checkpoint it contradicts", () => {
    const c = makeChain(10)
    let head = c.records[1]!
    const rewritten = c.records.slice(0, 2)
    for (const r of c.records.slice(2)) {
      const next = link(head, { ...r, detail: { ...r.detail, status: 500 } })
      rewritten.push(next)
      head = next
    }
    const e = broken(verifyChain({ chain: "user:alice", ...c, records: rewritten, publicKey: c.signer.publicKey }))
    assert.strictEqual(e.seq, 4)
    assert.strictEqual(e.problem, "rewritten")
  })

  it("a pinned checkpoint: a later history must extend it", () => {
    const c = makeChain(12)
    const pin = { seq: 8, hash: c.records[7]!.hash }
    const later = verifyChain({
      chain: "user:alice",
      records: c.records.slice(7),
      checkpoints: c.checkpoints.filter((x) => x.seq >= 8),
      publicKey: c.signer.publicKey,
      head: c.head,
      pin
    })
    assert.isTrue(Either.isRight(later))
    const old = makeChain(0)
    const restored = verifyChain({
      chain: "user:alice",
      records: c.records.slice(0, 5),
      checkpoints: c.checkpoints.filter((x) => x.seq <= 4),
      publicKey: c.signer.publicKey,
      head: { seq: 5, hash: c.records[4]!.hash },
      pin
    })
    assert.strictEqual(old.records.length, 0)
    const e = broken(restored)
    assert.strictEqual(e.seq, 6)
    assert.strictEqual(e.problem, "not_extending")
  })
})
