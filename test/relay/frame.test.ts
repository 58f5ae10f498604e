import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import {
  decodeFrame,
  encodeFrame,
  FrameType,
  HEADER_BYTES,
  MAX_FRAME_PAYLOAD,
  type TunnelFrame,
  TunnelFrameError
} from "../../src/protocol/TunnelFrame.js"

const header = (type: number, flags: number, stream: number, length: number) => {
  const out = new Uint8Array(HEADER_BYTES)
  const view = new DataView(out.buffer)
  view.setUint8(0, type)
  view.setUint8(1, flags)
  view.setUint32(2, stream)
  view.setUint32(6, length)
  return out
}

const frame = (type: number, flags: number, stream: number, payload: Uint8Array) => {
  const out = new Uint8Array(HEADER_BYTES + payload.length)
  out.set(header(type, flags, stream, payload.length))
  out.set(payload, HEADER_BYTES)
  return out
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))

const streamId = fc.integer({ min: 1, max: 0xffffffff })
const headers = fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.stringMatching(/^[ -~]{0,40}$/)), {
  maxLength: 8
})
const validFrame: fc.Arbitrary<TunnelFrame> = fc.oneof(
  fc.record({
    _tag: fc.constant("Open" as const),
    stream: streamId,
    head: fc.record({
      method: fc.constantFrom("GET", "POST", "HEAD"),
      path: fc.stringMatching(/^\/[a-z0-9/?=&]{0,40}$/),
      headers,
      upgrade: fc.boolean()
    })
  }),
  fc.record({
    _tag: fc.constant("Response" as const),
    stream: streamId,
    head: fc.record({ status: fc.integer({ min: 101, max: 599 }), headers })
  }),
  fc.record({
    _tag: fc.constant("Data" as const),
    stream: streamId,
    end: fc.boolean(),
    body: fc.uint8Array({ maxLength: 512 })
  }),
  fc.record({
    _tag: fc.constant("Window" as const),
    stream: streamId,
    increment: fc.integer({ min: 1, max: 0x7fffffff })
  }),
  fc.record({
    _tag: fc.constant("Reset" as const),
    stream: streamId,
    code: fc.constantFrom("cancelled" as const, "internal" as const),
    message: fc.string({ maxLength: 50 })
  }),
  fc.record({
    _tag: fc.constant("GoAway" as const),
    stream: fc.constant(0 as const),
    reason: fc.string({ maxLength: 50 })
  }),
  fc.record({
    _tag: fc.constant("WsMessage" as const),
    stream: streamId,
    text: fc.boolean(),
    body: fc.uint8Array({ maxLength: 256 })
  }),
  fc.record({
    _tag: fc.constant("WsClose" as const),
    stream: streamId,
    code: fc.integer({ min: 1000, max: 4999 }),
    reason: fc.string({ maxLength: 40 })
  })
)

const normalise = (f: TunnelFrame) => JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? [...v] : v)))

/** Bytes that look like frames: right-sized headers with random types, flags and payloads. */
const framelike = fc.tuple(
  fc.integer({ min: 0, max: 12 }),
  fc.integer({ min: 0, max: 255 }),
  fc.oneof(fc.constant(0), streamId),
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.jsonValue().map(json),
    fc.string().map((s) => new TextEncoder().encode(s))
  )
).map(([t, f, s, p]) => frame(t, f, s, p))

const mutated = fc.tuple(
  validFrame,
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  fc.nat({ max: 8 })
)
  .map(([f, edits, cut]) => {
    const bytes = encodeFrame(f).slice()
    edits.forEach(([i, b]) => (bytes[i % bytes.length] = b))
    return cut > 0 && cut < bytes.length ? bytes.subarray(0, bytes.length - cut) : bytes
  })

describe("TunnelFrame codec", () => {
  it("round-trips every valid frame", () => {
    fc.assert(
      fc.property(validFrame, (f) => {
        const decoded = decodeFrame(encodeFrame(f))
        assert.isTrue(Either.isRight(decoded))
        assert.deepStrictEqual(normalise(Either.getOrThrow(decoded)), normalise(f))
      }),
      { numRuns: 5_000 }
    )
  })

  it("never throws: 100k random, frame-like and mutated inputs each decode or fail with a typed error", () => {
    const input = fc.oneof(fc.uint8Array({ maxLength: 96 }), framelike, mutated)
    fc.assert(
      fc.property(input, (bytes) => {
        const result = decodeFrame(bytes)
        if (Either.isLeft(result)) {
          assert.instanceOf(result.left, TunnelFrameError)
          assert.strictEqual(result.left._tag, "TunnelFrameError")
          if (bytes.length >= HEADER_BYTES) {
            const stream = new DataView(bytes.buffer, bytes.byteOffset).getUint32(2)
            assert.strictEqual(result.left.stream, stream === 0 ? null : stream)
          }
        }
      }),
      { numRuns: 100_000 }
    )
  })

  it("names the stream of a bad frame so only that stream is reset", () => {
    const bad = frame(FrameType.Response, 0, 7, new TextEncoder().encode("{not json"))
    const result = decodeFrame(bad)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.code, "bad_head")
      assert.strictEqual(result.left.stream, 7)
    }
  })

  it("refuses frames over the size limit, unknown types, stray flags and stream-0 misuse", () => {
    const codes = [
      frame(FrameType.Data, 0, 1, new Uint8Array(0)).subarray(0, 5),
      Uint8Array.from([...header(FrameType.Data, 0, 3, MAX_FRAME_PAYLOAD + 1)]),
      frame(FrameType.Data, 0, 3, new Uint8Array(4)).subarray(0, 12),
      frame(99, 0, 3, new Uint8Array(0)),
      frame(FrameType.Window, 8, 3, new Uint8Array(4)),
      frame(FrameType.Data, 0, 0, new Uint8Array(0)),
      frame(FrameType.Window, 0, 3, new Uint8Array(3))
    ].map((b) => {
      const r = decodeFrame(b)
      return Either.isLeft(r) ? r.left.code : "ok"
    })
    assert.deepStrictEqual(codes, [
      "truncated",
      "too_large",
      "length_mismatch",
      "unknown_type",
      "bad_flags",
      "bad_stream",
      "bad_head"
    ])
  })
})
