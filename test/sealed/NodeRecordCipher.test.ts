import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { nodeRecordCipher } from "../../src/layers/sealed/NodeRecordCipher.js"
import { utf8 } from "../../src/protocol/sealed/Bytes.js"
import type { HandshakeResult } from "../../src/protocol/sealed/Handshake.js"
import { aesKey } from "../../src/protocol/sealed/Primitives.js"
import { RecordOpener, RecordSealer } from "../../src/protocol/sealed/Records.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"

const key = new Uint8Array(32).fill(7)

/** Two ends of one session, as Noise's Split would give them (only the transport keys matter here). */
const sessions = () => {
  const a = new Uint8Array(32).fill(1)
  const b = new Uint8Array(32).fill(2)
  const end = (send: Uint8Array, receive: Uint8Array) =>
    SealedSession.fromHandshake(
      {
        send: { rawKey: send },
        receive: { rawKey: receive },
        remoteStatic: a,
        handshakeHash: b
      } as unknown as HandshakeResult
    )
  return [end(a, b), end(b, a)] as const
}

describe("node:crypto record cipher", () => {
  it.effect("seals the very bytes WebCrypto seals, and each opens the other's records", () =>
    Effect.gen(function*() {
      const web = yield* aesKey(key)
      const fromNode = RecordSealer.under(nodeRecordCipher(key), 3)
      const fromWeb = RecordSealer.under(web, 3)
      const a = yield* fromNode.seal(utf8("which endpoints does the api have?"))
      const b = yield* fromWeb.seal(utf8("which endpoints does the api have?"))
      assert.deepStrictEqual(a, b)
      const webOpener = RecordOpener.under(web, 3)
      const nodeOpener = RecordOpener.under(nodeRecordCipher(key), 3)
      assert.deepStrictEqual(yield* webOpener.open(a), {
        _tag: "Data",
        data: utf8("which endpoints does the api have?")
      })
      assert.deepStrictEqual(yield* nodeOpener.open(b), {
        _tag: "Data",
        data: utf8("which endpoints does the api have?")
      })
      const end = yield* fromNode.end()
      assert.deepStrictEqual(yield* nodeOpener.open(end), { _tag: "End" })
    }))

  it.effect("a record altered anywhere, or under another key, is refused as RecordAltered", () =>
    Effect.gen(function*() {
      const record = yield* RecordSealer.under(nodeRecordCipher(key), 0).seal(utf8("secret"))
      for (const at of [0 + 13, record.length - 1]) {
        const altered = record.slice()
        altered[at]! ^= 1
        const error = yield* Effect.flip(RecordOpener.under(nodeRecordCipher(key), 0).open(altered))
        assert.strictEqual(error._tag, "RecordAltered")
      }
      const other = RecordOpener.under(nodeRecordCipher(new Uint8Array(32).fill(8)), 0)
      assert.strictEqual((yield* Effect.flip(other.open(record)))._tag, "RecordAltered")
      const wrongStream = RecordOpener.under(nodeRecordCipher(key), 1)
      assert.strictEqual((yield* Effect.flip(wrongStream.open(record)))._tag, "RecordAltered")
    }))

  it.effect("a session's streamWith speaks with its WebCrypto halves, and takes each stream id once", () =>
    Effect.gen(function*() {
      const [laptop, server] = sessions()
      const { opener, sealer } = yield* laptop.streamWith(0, nodeRecordCipher)
      const serverOut = yield* server.outgoing(0)
      const serverIn = yield* server.incoming(0)
      assert.deepStrictEqual(yield* serverIn.open(yield* sealer.seal(utf8("ask"))), { _tag: "Data", data: utf8("ask") })
      assert.deepStrictEqual(yield* opener.open(yield* serverOut.seal(utf8("ack"))), {
        _tag: "Data",
        data: utf8("ack")
      })
      assert.strictEqual((yield* Effect.flip(laptop.streamWith(0, nodeRecordCipher)))._tag, "StreamClosed")
      assert.strictEqual((yield* Effect.flip(laptop.outgoing(0)))._tag, "StreamClosed")
    }))
})
