import { Effect } from "effect"
import { concat, utf8 } from "./Bytes.js"
import type { HandshakeResult } from "./Handshake.js"
import { hmacKey, hmacWith } from "./Primitives.js"
import { RecordOpener, RecordSealer } from "./Records.js"
import { StreamClosed } from "./SealedErrors.js"

const STREAM_LABEL = utf8("repowire/sealed/stream/v1")

const streamIdBytes = (stream: number) => {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(stream), false)
  return bytes
}

/**
 * A session after its handshake. The tunnel carries many streams at once (one per request,
 * event stream or WebSocket), and the relay may deliver them in any order relative to each
 * other, so each stream and direction gets its own key: HKDF-Expand (RFC 5869) of one block,
 * with that direction's transport key (uniformly random, from Noise's Split) as the PRK and
 * the label and stream id as info. Records then count from 0 on each; a stream id is used
 * once per direction, so no key and counter repeat. The two PRKs are imported once per session.
 */
export class SealedSession {
  private readonly sent = new Set<number>()
  private readonly received = new Set<number>()
  private prks: { send?: Promise<CryptoKey>; receive?: Promise<CryptoKey> } = {}

  private constructor(
    readonly remoteStatic: Uint8Array,
    readonly handshakeHash: Uint8Array,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array
  ) {}

  static readonly fromHandshake = (result: HandshakeResult): SealedSession => {
    const { receive, send } = result
    if (send.rawKey === undefined || receive.rawKey === undefined) throw new Error("a split CipherState has a key")
    return new SealedSession(result.remoteStatic, result.handshakeHash, send.rawKey, receive.rawKey)
  }

  private keyFor(stream: number, direction: "send" | "receive") {
    const used = direction === "send" ? this.sent : this.received
    if (!Number.isSafeInteger(stream) || stream < 0) {
      return Effect.fail(new StreamClosed({ message: `stream id ${stream} is not a non-negative integer` }))
    }
    if (used.has(stream)) {
      return Effect.fail(new StreamClosed({ message: `stream ${stream} was already used in this direction` }))
    }
    used.add(stream)
    const prk = this.prks[direction] ??= hmacKey(direction === "send" ? this.sendKey : this.receiveKey)
    const info = concat(STREAM_LABEL, streamIdBytes(stream), Uint8Array.of(1))
    return Effect.flatMap(Effect.promise(() => prk), (key) => hmacWith(key, info))
  }

  /** The sealer of this party's records on `stream`; each stream id once. */
  outgoing(stream: number): Effect.Effect<RecordSealer, StreamClosed> {
    return Effect.flatMap(this.keyFor(stream, "send"), (key) => RecordSealer.make(key))
  }

  /** The opener of the peer's records on `stream`; each stream id once. */
  incoming(stream: number): Effect.Effect<RecordOpener, StreamClosed> {
    return Effect.flatMap(this.keyFor(stream, "receive"), (key) => RecordOpener.make(key))
  }
}
