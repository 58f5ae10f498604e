import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, Schema } from "effect"
import {
  AsksAnswer,
  ConfirmedAnswer,
  DeliveriesAnswer,
  ErrorAnswer,
  HealthAnswer,
  RegisteredAnswer
} from "../../src/protocol/DaemonAnswers.js"
import { Health } from "../../src/protocol/DaemonApi.js"
import { ErrorBody } from "../../src/protocol/Errors.js"
import { AskList, DeliveriesConfirmed, DeliveryList } from "../../src/protocol/Message.js"
import * as S from "../../src/protocol/MiniSchema.js"
import { Registered } from "../../src/protocol/Peer.js"

/**
 * The hook's decoders of the daemon's answers read whatever the contract's Schemas encode: the
 * compiler checks the types (S.reading), this checks the values, sent as JSON.
 */
const readsAll = <A, I>(schema: Schema.Schema<A, I>, decoder: S.Decoder<unknown>, same: (sent: I, read: any) => void) =>
  fc.assert(
    fc.property(Arbitrary.make(schema), (value) => {
      const sent = JSON.parse(JSON.stringify(Schema.encodeSync(schema)(value))) as I
      const read = S.decode(decoder, sent)
      assert.isTrue(read.ok, read.ok ? "" : read.error)
      if (read.ok) same(sent, read.value)
    }),
    { numRuns: 50 }
  )

describe("the hook reads every answer the contract allows", () => {
  it("POST /peers", () => readsAll(Registered, RegisteredAnswer, (sent, read) => assert.deepStrictEqual(read, sent)))

  it("GET /deliveries keeps every message", () =>
    readsAll(DeliveryList, DeliveriesAnswer, (sent, read) => {
      assert.strictEqual(read.messages.length, sent.messages.length)
      read.messages.forEach((m: { id: string; text: string }, i: number) => {
        assert.strictEqual(m.id, sent.messages[i]!.id)
        assert.strictEqual(m.text, sent.messages[i]!.text)
      })
    }))

  it("GET /asks keeps every ask", () =>
    readsAll(AskList, AsksAnswer, (sent, read) => assert.strictEqual(read.asks.length, sent.asks.length)))

  it("POST /deliveries/ack", () =>
    readsAll(DeliveriesConfirmed, ConfirmedAnswer, (sent, read) => assert.deepStrictEqual(read, sent)))

  it("GET /health and the error envelope", () => {
    readsAll(Health, HealthAnswer, (sent, read) => assert.strictEqual(read.version, sent.version))
    readsAll(ErrorBody, ErrorAnswer, (sent, read) => assert.strictEqual(read.error.message, sent.error.message))
  })

  it("a list entry of another shape is left out, not the whole answer", () => {
    const read = S.decode(ConfirmedAnswer, { delivered: ["msg-1", 2, "msg-3"] })
    assert.deepStrictEqual(read, { ok: true, value: { delivered: ["msg-1", "msg-3"] } })
  })
})
