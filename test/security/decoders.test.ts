import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { decodeConfigValues } from "../../src/layers/ConfigLive.js"
import { ClientFrameJson, ServerFrameJson } from "../../src/protocol/AgentFrame.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { decodeHookPayload, HOOK_EVENTS } from "../../src/protocol/HookPayload.js"
import { describeParseError, parseErrorMessage } from "../../src/protocol/Issues.js"
import { jsonDepthWithin, MAX_JSON_DEPTH, parseJsonBounded } from "../../src/protocol/JsonDepth.js"
import { AskRequest, BroadcastRequest, NotifyRequest } from "../../src/protocol/Message.js"
import { RegisterPeer } from "../../src/protocol/Peer.js"
import { decodeFrame, encodeFrame } from "../../src/protocol/TunnelFrame.js"

const nested = (depth: number, inner: unknown = 1): unknown => {
  let value = inner
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value }
  return value
}
/** The nesting of a parsed value, walked without recursion. */
const depthOf = (value: unknown): number => {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    max = Math.max(max, d + 1)
    for (const child of Object.values(v)) stack.push([child, d + 1])
  }
  return max
}
const deepText = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

/** Values no decoder expects: deep, wide and long, mixed with ordinary JSON. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ depthSize: "large", maxDepth: 10 }),
  fc.integer({ min: 100, max: 4000 }).map((d) => nested(d)),
  fc.array(fc.integer(), { minLength: 1000, maxLength: 50_000 }),
  fc.string({ minLength: 10_000, maxLength: 100_000 }),
  fc.record({ type: fc.constantFrom("connect", "pong", "status", "delivery_ack"), peer_id: fc.anything() })
)

describe("the JSON depth bound", () => {
  it("agrees with JSON.parse up to the bound and refuses past it (the scan is a fast path: this is its equivalence test)", () => {
    fc.assert(
      fc.property(fc.json({ depthSize: "large", maxDepth: 80 }), (text) => {
        const value = JSON.parse(text)
        const parsed = parseJsonBounded(text)
        if (depthOf(value) <= MAX_JSON_DEPTH) {
          assert.isTrue(parsed.ok)
          if (parsed.ok) assert.deepStrictEqual(parsed.value, value)
        } else {
          assert.isFalse(parsed.ok)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("counts brackets inside strings and escapes as text", () => {
    assert.isTrue(jsonDepthWithin(JSON.stringify({ a: "[".repeat(500) + "\\\"{{{{" }), 2))
    assert.isFalse(jsonDepthWithin(deepText(65)))
    assert.isTrue(jsonDepthWithin(deepText(64)))
    assert.deepStrictEqual(parseJsonBounded("{\"a\":"), { ok: false, reason: "not valid JSON" })
  })
})

describe("every decoder at a boundary answers any value with a typed error, never a throw", () => {
  const schemas = [AskRequest, NotifyRequest, BroadcastRequest, RegisterPeer]

  it("request Schemas: the error message is one bounded line, whatever the value", () => {
    fc.assert(
      fc.property(hostileValue, fc.constantFrom(...schemas), (value, schema) => {
        const decoded = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)(value)
        if (Either.isLeft(decoded)) {
          assert.isAtMost(describeParseError(decoded.left).length, 300)
          assert.isAtMost(parseErrorMessage(decoded.left).length, 300)
        }
      }),
      { numRuns: 100 }
    )
  })

  it("/ws frames, both ways, as text", () => {
    for (const codec of [ClientFrameJson, ServerFrameJson]) {
      const decode = Schema.decodeUnknownEither(codec as Schema.Schema<unknown, string>)
      fc.assert(
        fc.property(hostileValue, (value) => {
          const text = JSON.stringify(value) ?? "null"
          const decoded = decode(text)
          if (Either.isLeft(decoded)) assert.isAtMost(describeParseError(decoded.left).length, 300)
        }),
        { numRuns: 100 }
      )
      const deep = decode(`{"type":"connect","peer_id":${deepText(3000)}}`)
      assert.isTrue(Either.isLeft(deep))
      if (Either.isLeft(deep)) assert.match(describeParseError(deep.left), /nested deeper than 64/)
    }
  })

  it("tunnel frames with deep heads are a bad_head for their stream", () => {
    const frame = encodeFrame({ _tag: "Reset", stream: 7, code: "cancelled", message: "x" })
    const head = new TextEncoder().encode(`{"code":${deepText(3000)}}`)
    const bytes = new Uint8Array(10 + head.length)
    bytes.set(frame.subarray(0, 10))
    new DataView(bytes.buffer).setUint32(6, head.length)
    bytes.set(head, 10)
    const decoded = decodeFrame(bytes)
    assert.isTrue(Either.isLeft(decoded))
    if (Either.isLeft(decoded)) {
      assert.strictEqual(decoded.left.code, "bad_head")
      assert.strictEqual(decoded.left.stream, 7)
    }
  })

  it("hook payloads of every event", () => {
    fc.assert(
      fc.property(hostileValue, fc.constantFrom(...HOOK_EVENTS), (value, event) => {
        const decoded = decodeHookPayload(event, value)
        if (!decoded.ok) assert.isAtMost(decoded.error.length, 300)
      }),
      { numRuns: 100 }
    )
  })

  it.effect("config files: a clear ConfigError, never a defect", () =>
    Effect.gen(function*() {
      const paths = resolvePaths({ REPOWIRE_HOME: "/nonexistent" })
      for (
        const raw of [nested(3000), { daemon: nested(3000) }, {
          daemon: { port: Array.from({ length: 50_000 }, () => 1) }
        }]
      ) {
        const result = yield* Effect.either(decodeConfigValues(paths, raw, {}))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) assert.isAtMost(result.left.message.length, 400)
      }
    }))
})
