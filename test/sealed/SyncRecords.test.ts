import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { nodeAead } from "../../src/layers/sealed/NodeAead.js"
import { concat } from "../../src/protocol/sealed/Bytes.js"
import { aesKey } from "../../src/protocol/sealed/Primitives.js"
import { RecordOpener, RecordSealer } from "../../src/protocol/sealed/Records.js"
import { SyncRecordOpener, SyncRecordSealer } from "../../src/protocol/sealed/SyncRecords.js"

/**
 * The daemon's synchronous records (node:crypto) against the WebCrypto ones the browser
 * keeps: the same bytes sealed, and every stream, whole or damaged, opened to the same data
 * or the same error.
 */
const rawKey = new Uint8Array(32).fill(9)
const STREAM = 0x01020304
const LIMIT = 64
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const key = await run(aesKey(rawKey))

const sealAsync = (payloads: ReadonlyArray<Uint8Array>) =>
  run(Effect.gen(function*() {
    const sealer = RecordSealer.under(key, STREAM, LIMIT)
    const records = (yield* Effect.forEach(payloads, (p) => sealer.sealAll(p))).flat()
    return concat(...records, yield* sealer.end())
  }))

const sealSync = (payloads: ReadonlyArray<Uint8Array>) => {
  const sealer = new SyncRecordSealer(nodeAead(key), STREAM, LIMIT)
  const pieces: Array<Uint8Array> = []
  for (const p of payloads) {
    for (let at = 0; at < p.length || at === 0; at += LIMIT) {
      // A kind byte and a body as two parts, as the daemon seals them.
      const part = p.subarray(at, at + LIMIT)
      pieces.push(...Either.getOrThrow(sealer.seal(part.subarray(0, 1), part.subarray(1))))
      if (p.length === 0) break
    }
  }
  pieces.push(...Either.getOrThrow(sealer.end()))
  return concat(...pieces)
}

const cutPoints = (length: number, cuts: ReadonlyArray<number>) =>
  [...new Set([0, ...cuts.map((c) => c % (length + 1)), length])].sort((a, b) => a - b)

const openAsync = (bytes: Uint8Array, cuts: ReadonlyArray<number>) =>
  run(
    Effect.gen(function*() {
      const opener = RecordOpener.under(key, STREAM, LIMIT)
      const points = cutPoints(bytes.length, cuts)
      const out: Array<Uint8Array> = []
      for (let i = 0; i + 1 < points.length; i++) {
        out.push(...(yield* opener.feed(bytes.subarray(points[i], points[i + 1]))))
      }
      yield* opener.finish()
      return concat(...out)
    }).pipe(Effect.catchAll((e) => Effect.succeed(e._tag)))
  )

const openSync = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Uint8Array | string => {
  const opener = new SyncRecordOpener(nodeAead(key), STREAM, LIMIT)
  const points = cutPoints(bytes.length, cuts)
  const out: Array<Uint8Array> = []
  for (let i = 0; i + 1 < points.length; i++) {
    const opened = opener.feed(bytes.subarray(points[i], points[i + 1]))
    if (Either.isLeft(opened)) return opened.left._tag
    out.push(...opened.right)
  }
  const finished = opener.finish()
  return Either.isLeft(finished) ? finished.left._tag : concat(...out)
}

const payloads = fc.array(fc.uint8Array({ maxLength: 3 * LIMIT }), { minLength: 1, maxLength: 6 })
const cuts = fc.array(fc.nat(), { maxLength: 12 })

describe("synchronous sealed records (node:crypto) equal the WebCrypto ones", () => {
  it("seal the same bytes and open each other's streams", async () => {
    await fc.assert(
      fc.asyncProperty(payloads, cuts, async (ps, cs) => {
        const sealed = sealSync(ps)
        assert.deepStrictEqual(sealed, await sealAsync(ps))
        const whole = concat(...ps)
        assert.deepStrictEqual(new Uint8Array(openSync(sealed, cs) as Uint8Array), whole)
        assert.deepStrictEqual(await openAsync(sealed, cs), whole)
      }),
      { numRuns: 60 }
    )
  }, 60_000)

  it("refuse a changed, dropped, cut, replayed or reordered record with the same typed error", async () => {
    await fc.assert(
      fc.asyncProperty(
        payloads,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom("flip", "drop", "cut", "replay", "swap"),
        cuts,
        async (ps, at, mask, how, cs) => {
          const bytes = sealSync(ps)
          const i = at % bytes.length
          const first = 13 + Math.min(LIMIT, ps[0]!.length) + 16
          const changed = how === "flip"
            ? Uint8Array.from(bytes, (b, j) => (j === i ? b ^ mask : b))
            : how === "drop"
            ? concat(bytes.subarray(0, i), bytes.subarray(i + 1))
            : how === "cut"
            ? bytes.subarray(0, i)
            : how === "replay"
            ? concat(bytes.subarray(0, first), bytes)
            : concat(bytes.subarray(first), bytes.subarray(0, first))
          const sync = openSync(changed, cs)
          assert.isString(sync, `${how} at ${i} was accepted`)
          assert.strictEqual(sync, await openAsync(changed, cs))
        }
      ),
      { numRuns: 200 }
    )
  }, 60_000)

  it("refuse an oversize record from its header, and anything after a failure", () => {
    const opener = new SyncRecordOpener(nodeAead(key), STREAM, LIMIT)
    const big = new SyncRecordSealer(nodeAead(key), STREAM, 2 * LIMIT)
    const record = concat(...Either.getOrThrow(big.seal(new Uint8Array(LIMIT + 1))))
    assert.strictEqual(Either.flip(opener.feed(record.subarray(0, 13))).pipe(Either.getOrThrow)._tag, "RecordOversize")
    assert.strictEqual(Either.flip(opener.feed(record)).pipe(Either.getOrThrow)._tag, "StreamClosed")
    const sealer = new SyncRecordSealer(nodeAead(key), STREAM, LIMIT)
    assert.strictEqual(
      Either.flip(sealer.seal(new Uint8Array(LIMIT + 1))).pipe(Either.getOrThrow)._tag,
      "RecordOversize"
    )
    Either.getOrThrow(sealer.end())
    assert.strictEqual(Either.flip(sealer.seal(new Uint8Array(1))).pipe(Either.getOrThrow)._tag, "StreamClosed")
  })
})
