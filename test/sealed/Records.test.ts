import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { utf8 } from "../../src/protocol/sealed/Bytes.js"
import { HEADER, MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer, TAG } from "../../src/protocol/sealed/Records.js"

const key = new Uint8Array(32).fill(9)
const pair = Effect.all([RecordSealer.make(key), RecordOpener.make(key)])
const counterOf = (record: Uint8Array) => new DataView(record.buffer, record.byteOffset).getBigUint64(1, false)

describe("sealed records", () => {
  it.effect("data then end round-trips; the carrier may end only after the end record", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const a = yield* sealer.seal(utf8("hello"))
      const b = yield* sealer.seal(utf8("world"))
      const end = yield* sealer.end()
      assert.strictEqual(a.length, HEADER + 5 + TAG)
      assert.deepStrictEqual(yield* opener.open(a), { _tag: "Data", data: utf8("hello") })
      assert.deepStrictEqual(yield* opener.open(b), { _tag: "Data", data: utf8("world") })
      assert.deepStrictEqual(yield* opener.open(end), { _tag: "End" })
      yield* opener.finish()
      assert.isTrue(opener.complete)
    }))

  it.effect("counters are never reused: each record has the next one, and nothing follows the end", () =>
    Effect.gen(function*() {
      const [sealer] = yield* pair
      const records = [
        ...(yield* sealer.sealAll(new Uint8Array(3 * MAX_RECORD_PLAINTEXT + 1))),
        yield* sealer.seal(new Uint8Array(0)),
        yield* sealer.end()
      ]
      assert.deepStrictEqual(records.map(counterOf), [0n, 1n, 2n, 3n, 4n, 5n])
      const again = yield* Effect.flip(sealer.seal(utf8("more")))
      assert.strictEqual(again._tag, "StreamClosed")
      assert.strictEqual((yield* Effect.flip(sealer.end()))._tag, "StreamClosed")
    }))

  it.effect("a replayed record is refused as RecordReplayed and ends the stream", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const a = yield* sealer.seal(utf8("a"))
      yield* opener.open(a)
      const error = yield* Effect.flip(opener.open(a))
      assert.strictEqual(error._tag, "RecordReplayed")
      assert.deepInclude(error, { expected: 1, got: 0 })
      const after = yield* Effect.flip(opener.open(yield* sealer.seal(utf8("b"))))
      assert.strictEqual(after._tag, "StreamClosed")
    }))

  it.effect("a record ahead of its turn is refused as RecordReordered", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      yield* sealer.seal(utf8("first"))
      const second = yield* sealer.seal(utf8("second"))
      const error = yield* Effect.flip(opener.open(second))
      assert.strictEqual(error._tag, "RecordReordered")
      assert.deepInclude(error, { expected: 0, got: 1 })
    }))

  it.effect("a changed ciphertext, tag, type or length is refused as RecordAltered", () =>
    Effect.gen(function*() {
      for (const at of [HEADER, HEADER + 3, HEADER + 6, 0]) {
        const [sealer, opener] = yield* pair
        const record = yield* sealer.seal(utf8("text"))
        const changed = Uint8Array.from(record)
        changed[at]! ^= at === 0 ? 0x03 : 0x01
        assert.strictEqual((yield* Effect.flip(opener.open(changed)))._tag, "RecordAltered", `byte ${at}`)
      }
      const [sealer, opener] = yield* pair
      const record = yield* sealer.seal(utf8("text"))
      const longer = Uint8Array.from(record)
      new DataView(longer.buffer).setUint32(9, 4 + TAG - 1, false)
      assert.strictEqual((yield* Effect.flip(opener.open(longer)))._tag, "RecordAltered")
    }))

  it.effect("a record under another key is refused as RecordAltered", () =>
    Effect.gen(function*() {
      const sealer = yield* RecordSealer.make(new Uint8Array(32).fill(1))
      const opener = yield* RecordOpener.make(key)
      assert.strictEqual((yield* Effect.flip(opener.open(yield* sealer.seal(utf8("x")))))._tag, "RecordAltered")
    }))

  it.effect("an end record that never comes is truncation, and so is half a record", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const data = yield* sealer.seal(utf8("partial"))
      assert.strictEqual((yield* opener.feed(data)).length, 1)
      assert.strictEqual((yield* Effect.flip(opener.finish()))._tag, "RecordTruncated")

      const [sealer2, opener2] = yield* pair
      const whole = yield* sealer2.seal(utf8("cut"))
      yield* opener2.feed(whole.subarray(0, 10))
      assert.strictEqual((yield* Effect.flip(opener2.finish()))._tag, "RecordTruncated")

      const [sealer3, opener3] = yield* pair
      const short = (yield* sealer3.seal(utf8("cut"))).subarray(0, HEADER + 2)
      assert.strictEqual((yield* Effect.flip(opener3.open(short)))._tag, "RecordTruncated")
    }))

  it.effect("a byte stream cut anywhere opens to the same data", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const parts = [utf8("alpha"), new Uint8Array(70_000).fill(7), utf8("omega")]
      const stream = [...(yield* Effect.forEach(parts, (p) => sealer.sealAll(p))).flat(), yield* sealer.end()]
      const bytes = new Uint8Array(stream.reduce((n, r) => n + r.length, 0))
      let at = 0
      for (const r of stream) (bytes.set(r, at), at += r.length)
      const out: Array<Uint8Array> = []
      for (let i = 0; i < bytes.length; i += 777) out.push(...(yield* opener.feed(bytes.subarray(i, i + 777))))
      yield* opener.finish()
      const total = out.reduce((n, p) => n + p.length, 0)
      assert.strictEqual(total, 5 + 70_000 + 5)
      assert.deepStrictEqual(out[0], utf8("alpha"))
      assert.deepStrictEqual(out[out.length - 1], utf8("omega"))
    }))

  it.effect("an oversize record is refused when sealed, and from its header when opened", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const refused = yield* Effect.flip(sealer.seal(new Uint8Array(MAX_RECORD_PLAINTEXT + 1)))
      assert.strictEqual(refused._tag, "RecordOversize")
      const big = yield* (yield* RecordSealer.make(key, 2 * MAX_RECORD_PLAINTEXT)).seal(
        new Uint8Array(MAX_RECORD_PLAINTEXT + 1)
      )
      // Only the header is given: the opener refuses without waiting for the body.
      const error = yield* Effect.flip(opener.feed(big.subarray(0, HEADER)))
      assert.strictEqual(error._tag, "RecordOversize")
      assert.deepInclude(error, { size: MAX_RECORD_PLAINTEXT + 1, limit: MAX_RECORD_PLAINTEXT })
    }))

  it.effect("records after the end record are refused", () =>
    Effect.gen(function*() {
      const [sealer, opener] = yield* pair
      const end = yield* sealer.end()
      yield* opener.open(end)
      assert.strictEqual((yield* Effect.flip(opener.open(end)))._tag, "StreamClosed")
    }))
})
