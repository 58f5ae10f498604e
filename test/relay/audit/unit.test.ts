import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { loadSigner } from "../../../src/layers/audit/AuditKey.js"
import { checkpointSigned } from "../../../src/layers/audit/AuditKey.js"
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

const ieee754 = (hex: string) => Buffer.from(hex, "hex").readDoubleBE(0)

/** RFC 8785 Appendix B: IEEE 754 values and how canonical JSON prints them. */
const APPENDIX_B: ReadonlyArray<readonly [string, string]> = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"]
]

describe("canonical JSON (RFC 8785)", () => {
  it("prints every Appendix B number as the RFC does", () => {
    for (const [hex, expected] of APPENDIX_B) assert.strictEqual(canonicalize(ieee754(hex)), expected, hex)
  })

  it("refuses NaN and Infinity", () => {
    assert.throws(() => canonicalize(ieee754("7fffffffffffffff")))
    assert.throws(() => canonicalize(ieee754("7ff0000000000000")))
  })

  it("§3.2.2: literals, numbers and string escapes", () => {
    const input = JSON.parse(
      `{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
        "literals": [null, true, false]}`
    )
    assert.strictEqual(
      canonicalize(input),
      `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA'B\\"\\\\\\\\\\"/"}`
    )
  })

  it("§3.2.3: keys sorted by UTF-16 code units", () => {
    const input = JSON.parse(`{
      "\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"}`)
    assert.strictEqual(
      canonicalize(input),
      `{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}`
    )
  })
})

describe("canonical JSON: the flat, sorted fast path", () => {
  // Strings that stress JSON's escaping and UTF-16 order: controls, quotes, U+2028, astral and lone surrogates.
  const strings = [
    "",
    "a",
    "A",
    "_",
    "~",
    "\u0000",
    "\u001f",
    "\"",
    "\\",
    "/",
    "\u2028",
    "\u00e9",
    "\u20ac",
    "\ud83d\ude00",
    "\ud800",
    "\udfff",
    "\ufb33",
    "10",
    "9"
  ]
  const numbers = [...APPENDIX_B.map(([hex]) => ieee754(hex)), 0, -0, 1, -1, 0.1, 1e21, 1e-7, 2 ** 53, 200]
  const values = [...strings, ...numbers, true, false, null]
  let seed = 7
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  const pick = <A>(xs: ReadonlyArray<A>) => xs[random(xs.length)]!
  const shuffled = <A>(xs: ReadonlyArray<A>) => {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = random(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  it("prints a flat object whose keys are in order exactly as the general walk prints it in any other order", () => {
    // The fast path only takes objects already in UTF-16 key order; a shuffled copy of the same
    // object (unless the shuffle happens to be sorted too) goes through the general walk.
    const keyParts = [...strings, "bytes_in", "bytes_out", "client", "status", "1", "01", "a1", "a\u0000"]
    let compared = 0
    for (let n = 0; n < 2000; n++) {
      const keys = [...new Set(Array.from({ length: 1 + random(10) }, () => pick(keyParts) + pick(keyParts)))].sort()
      const entries = keys.map((k) => [k, pick(values)] as const)
      const sorted = Object.fromEntries(entries)
      const other = Object.fromEntries(shuffled(entries))
      assert.strictEqual(canonicalize(sorted), canonicalize(other), JSON.stringify(entries))
      if (JSON.stringify(Object.keys(other)) !== JSON.stringify(Object.keys(sorted))) compared++
    }
    assert.isAbove(compared, 1000, "most pairs compare the fast path against the walk")
  })

  it("leaves to the walk what JSON.stringify would print differently", () => {
    // Integer-like keys come first in an object whatever their order: "9" before "10".
    assert.strictEqual(canonicalize({ 9: "a", 10: "b" }), `{"10":"b","9":"a"}`)
    assert.strictEqual(canonicalize({ a: undefined, b: 1 }), `{"b":1}`)
    assert.throws(() => canonicalize({ a: Number.NaN }))
    assert.throws(() => canonicalize({ a: Number.POSITIVE_INFINITY }))
    assert.strictEqual(canonicalize({ a: { c: 1, b: 2 } }), `{"a":{"b":2,"c":1}}`)
    assert.strictEqual(canonicalize({ a: [2, 1] }), `{"a":[2,1]}`)
    // Not a plain object: its own keys, not its toJSON.
    assert.strictEqual(canonicalize(new Date(0)), "{}")
  })

  it("the relay's request details take the fast path: their keys are already in order", () => {
    const detail = {
      bytes_in: 312,
      bytes_out: 187,
      client: "127.0.0.1",
      completed: true,
      daemon_id: "laptop",
      duration_ms: 3,
      method: "GET",
      path: "/health",
      status: 200
    }
    assert.deepStrictEqual(Object.keys(detail), Object.keys(detail).sort())
    assert.strictEqual(canonicalize(detail), JSON.stringify(detail))
  })
})

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

describe("the audit key made by several processes at once", () => {
  it("every process gets the same whole key (replicas starting together on one data dir)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rw-audit-key-"))
    const module = path.resolve(import.meta.dirname, "../../../src/layers/audit/AuditKey.ts")
    const script = `import { loadSigner } from ${JSON.stringify(module)}; console.log(loadSigner(${
      JSON.stringify(dir)
    }).publicKey)`
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script])
        let out = ""
        let err = ""
        child.stdout.on("data", (c) => (out += c))
        child.stderr.on("data", (c) => (err += c))
        child.on("exit", (code) => code === 0 ? resolve(out.trim()) : reject(new Error(err)))
      })
    const keys = await Promise.all(Array.from({ length: 6 }, run))
    assert.strictEqual(new Set(keys).size, 1, keys.join(", "))
    assert.strictEqual(loadSigner(dir).publicKey, keys[0])
    assert.deepStrictEqual(fs.readdirSync(dir), ["audit-ed25519.pem"], "no temp file left behind")
  }, 60_000)
})
