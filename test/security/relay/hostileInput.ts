import { assert } from "@effect/vitest"
import * as fc from "fast-check"
import { MAX_FRAME_PAYLOAD } from "../../../src/protocol/TunnelFrame.js"

export const nested = (n: number) => "[".repeat(n) + "]".repeat(n)
export const nestedObject = (n: number) => "{\"a\":".repeat(n) + "1" + "}".repeat(n)

/** Response heads with statuses and headers a daemon should never send. */
const hostileHead = fc.record({
  status: fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.constantFrom(101, 103, 200, 204, 304)),
  headers: fc.array(
    fc.tuple(
      fc.oneof(
        fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
        fc.constantFrom("content-length", "set-cookie", "content-type", "transfer-encoding")
      ),
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 40 }).filter((v) => !/[\r\n\0]/.test(v)),
        fc.constantFrom("5", "-1", "1,2", "abc", "99999999999999999999")
      )
    ),
    { minLength: 1, maxLength: 4 }
  )
}).map((h) => JSON.stringify(h))

/** JSON texts a hostile peer might send: ordinary, 3,000 levels deep, huge arrays, long strings. */
export const hostileJson = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 5000 }).map(nested),
  fc.integer({ min: 1, max: 5000 }).map(nestedObject),
  fc.constant(nested(3000)),
  fc.integer({ min: 1, max: 3000 }).map((n) => `{"status":200,"headers":${nested(n)}}`),
  fc.integer({ min: 1, max: 80_000 }).map((n) =>
    JSON.stringify({ status: 200, headers: Array.from({ length: n }, () => ["x", "y"]) })
  ),
  fc.integer({ min: 1, max: 900_000 }).map((n) =>
    JSON.stringify({ status: 200, headers: [["x-long", "a".repeat(n)]] })
  ),
  hostileHead,
  fc.record({ code: fc.string(), message: fc.string(), reason: fc.string() }).map((h) => JSON.stringify(h))
)

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text))

/** A frame with a hand-made header: any type, flags and length, on the live stream or another. */
export const hostileFrame = fc.oneof(
  fc.record({
    type: fc.integer({ min: 0, max: 9 }),
    flags: fc.integer({ min: 0, max: 255 }),
    target: fc.constantFrom("live", "live", "other", "zero"),
    lengthSkew: fc.constantFrom(0, 0, 0, 1, -1),
    payload: fc.oneof(hostileJson.map(bytesOf), fc.uint8Array({ maxLength: 2048 }))
  }),
  // Well-formed headers on the live stream, so the heads and bodies reach the relay's handlers.
  fc.record({
    type: fc.integer({ min: 1, max: 8 }),
    flags: fc.constantFrom(0, 1, 2),
    target: fc.constant("live"),
    lengthSkew: fc.constant(0),
    payload: fc.oneof(hostileJson.map(bytesOf), fc.uint8Array({ maxLength: 2048 }))
  }),
  fc.record({
    type: fc.constant(2),
    flags: fc.constant(0),
    target: fc.constant("live"),
    lengthSkew: fc.constant(0),
    payload: hostileHead.map(bytesOf)
  })
)

export const rawFrame = (f: typeof hostileFrame extends fc.Arbitrary<infer T> ? T : never, live: number) => {
  const payload = f.payload.subarray(0, MAX_FRAME_PAYLOAD)
  const out = Buffer.alloc(10 + payload.length)
  out.writeUInt8(f.type, 0)
  out.writeUInt8(f.flags, 1)
  out.writeUInt32BE(f.target === "live" ? live : f.target === "other" ? live + 1000 : 0, 2)
  out.writeUInt32BE(Math.max(0, payload.length + f.lengthSkew), 6)
  out.set(payload, 10)
  return out
}

export const noStackTrace = (body: string) => assert.notMatch(body, /\n\s+at |node:internal|\.ts:\d+/)
