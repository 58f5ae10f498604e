import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { ClientFrameJson } from "../../src/protocol/AgentFrame.js"
import { ConfigFile, durationMillis } from "../../src/protocol/ConfigFile.js"
import { describeParseError } from "../../src/protocol/Issues.js"
import { AskRequest } from "../../src/protocol/Message.js"
import { Metadata, RegisterPeer } from "../../src/protocol/Peer.js"

const decode = <A, I>(schema: Schema.Schema<A, I>, value: unknown) => Schema.decodeUnknownEither(schema)(value)

const message = <A, I>(schema: Schema.Schema<A, I>, value: unknown) => {
  const result = decode(schema, value)
  if (Either.isRight(result)) throw new Error("expected a decode failure")
  return describeParseError(result.left)
}

describe("request schemas", () => {
  it("name the offending field in one line", () => {
    assert.strictEqual(
      message(AskRequest, { from_peer: "a", to_peer: "b", text: 7 }),
      "text: Expected string, actual 7"
    )
    assert.match(message(AskRequest, { from_peer: "a", to_peer: "b", text: "x", nope: 1 }), /nope/)
    assert.match(message(AskRequest, { from_peer: "a", to_peer: "b", text: "" }), /^text: text must not be empty$/)
    assert.match(message(RegisterPeer, { name: "bad name", backend: "codex" }), /^name: a name is 1-63/)
  })

  it("bound a peer's metadata", () => {
    assert.isTrue(Either.isRight(decode(Metadata, { branch: "main" })))
    assert.isTrue(Either.isLeft(decode(Metadata, { big: "x".repeat(5000) })))
  })

  it("decode /ws frames by type, and refuse unknown ones", () => {
    assert.isTrue(Either.isRight(decode(ClientFrameJson, JSON.stringify({ type: "pong", nonce: "1" }))))
    assert.isTrue(Either.isLeft(decode(ClientFrameJson, JSON.stringify({ type: "shout" }))))
    assert.isTrue(Either.isLeft(decode(ClientFrameJson, "{")))
  })
})

describe("config file schema", () => {
  it("fills every default and reads durations", () => {
    const values = Schema.decodeUnknownSync(ConfigFile)({ daemon: { delivery_queue: { ttl: "90s" } } })
    assert.strictEqual(values.daemon.port, 8377)
    assert.strictEqual(durationMillis(values.daemon.delivery_queue.ttl), 90_000)
    assert.strictEqual(durationMillis(values.daemon.attachments.ttl), 7 * 86_400_000)
    assert.strictEqual(durationMillis(30), 30_000)
  })

  it("refuses a non-loopback host and a short secret", () => {
    assert.match(message(ConfigFile, { daemon: { host: "0.0.0.0" } }), /^daemon\.host: a loopback address/)
    assert.match(
      message(ConfigFile, { daemon: { auth_token: "short" } }),
      /^daemon\.auth_token: a secret of at least 16/
    )
  })
})
