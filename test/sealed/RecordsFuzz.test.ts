import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { concat } from "../../src/protocol/sealed/Bytes.js"
import { RecordOpener, RecordSealer } from "../../src/protocol/sealed/Records.js"

const key = new Uint8Array(32).fill(5)
const LIMIT = 64

/** A sealed stream of the given payloads, ended, as one byte string (small records: many boundaries). */
const sealStream = (payloads: ReadonlyArray<Uint8Array>) =>
  Effect.gen(function*() {
    const sealer = yield* RecordSealer.make(key, LIMIT)
    const records = (yield* Effect.forEach(payloads, (p) => sealer.sealAll(p))).flat()
    return concat(...records, yield* sealer.end())
  })

/** Feeds `bytes` cut at `cuts`, then finishes: the opened data, or the error's tag. */
const openStream = (bytes: Uint8Array, cuts: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const opener = yield* RecordOpener.make(key, LIMIT)
    const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b)
    const out: Array<Uint8Array> = []
    for (let i = 0; i + 1 < points.length; i++) {
      out.push(...(yield* opener.feed(bytes.subarray(points[i], points[i + 1]))))
    }
    yield* opener.finish()
    return concat(...out)
  }).pipe(Effect.catchAll((e) => Effect.succeed(e._tag)))

const payloads = fc.array(fc.uint8Array({ maxLength: 3 * LIMIT }), { minLength: 1, maxLength: 6 })
const cuts = fc.array(fc.nat(), { maxLength: 12 })
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

describe("sealed record streams, fuzzed", () => {
  it("open to exactly what was sealed, however the carrier cuts the bytes", async () => {
    await fc.assert(
      fc.asyncProperty(payloads, cuts, async (ps, cs) => {
        const opened = await run(openStream(await run(sealStream(ps)), cs))
        assert.deepStrictEqual(opened, concat(...ps))
      }),
      { numRuns: 60 }
    )
  }, 60_000)

  it("never accept a stream with one byte changed, dropped, or cut off at the end", async () => {
    await fc.assert(
      fc.asyncProperty(
        payloads,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom("flip", "drop", "cut"),
        cuts,
        async (ps, at, mask, how, cs) => {
          const bytes = await run(sealStream(ps))
          const i = at % bytes.length
          const changed = how === "flip"
            ? Uint8Array.from(bytes, (b, j) => (j === i ? b ^ mask : b))
            : how === "drop"
            ? concat(bytes.subarray(0, i), bytes.subarray(i + 1))
            : bytes.subarray(0, i)
          const opened = await run(openStream(changed, cs))
          assert.isString(opened, `${how} at ${i} was accepted`)
        }
      ),
      { numRuns: 150 }
    )
  }, 60_000)
})
