import { Effect } from "effect"
import { concat, utf8 } from "./Bytes.js"
import type { HandshakeResult } from "./Handshake.js"
import { aesKey, hmac } from "./Primitives.js"
import { RecordOpener, RecordSealer } from "./Records.js"
import { StreamClosed } from "./SealedErrors.js"

const DIRECTION_LABEL = utf8("repowire/sealed/direction/v2")
const MAX_STREAM_ID = 0xffff_ffff

/** HKDF-Expand (RFC 5869) of one block: a transport key (uniformly random, from Noise's Split) as the PRK. */
const directionKey = (transportKey: Uint8Array): Promise<CryptoKey> =>
  Effect.runPromise(Effect.flatMap(hmac(transportKey, concat(DIRECTION_LABEL, Uint8Array.of(1))), aesKey))

/**
 * A session after its handshake. The tunnel carries many streams at once (one per request,
 * event stream or WebSocket), and the relay may deliver them in any order relative to each
 * other, so records are counted from 0 on each stream and direction. Each direction has one
 * AES-256-GCM key, derived once per session from Noise's transport key for it (never the
 * Noise CipherState's own key, so no nonce it uses can meet ours); a record's nonce is its
 * stream id and counter (Records.ts). A stream id is used once per direction, so no key and
 * nonce repeat, and a stream costs no key derivation of its own.
 */
export class SealedSession {
  private readonly sent = new Set<number>()
  private readonly received = new Set<number>()
  private keys: { send?: Promise<CryptoKey>; receive?: Promise<CryptoKey> } = {}
  /** The keys once derived: later streams take them without a promise hop. */
  private ready: { send?: CryptoKey; receive?: CryptoKey } = {}

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

  private keyFor(stream: number, direction: "send" | "receive"): Effect.Effect<CryptoKey, StreamClosed> {
    const used = direction === "send" ? this.sent : this.received
    if (!Number.isSafeInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) {
      return Effect.fail(new StreamClosed({ message: `stream id ${stream} is not a 32-bit unsigned integer` }))
    }
    if (used.has(stream)) {
      return Effect.fail(new StreamClosed({ message: `stream ${stream} was already used in this direction` }))
    }
    used.add(stream)
    const ready = this.ready[direction]
    if (ready !== undefined) return Effect.succeed(ready)
    const key = this.keys[direction] ??= directionKey(direction === "send" ? this.sendKey : this.receiveKey).then(
      (k) => (this.ready[direction] = k)
    )
    return Effect.promise(() => key)
  }

  /**
   * Both direction keys for `stream`, claiming its id both ways like `outgoing` and
   * `incoming`: for records sealed by a synchronous AEAD (SyncRecords.ts) under the same keys.
   */
  streamKeys(stream: number): Effect.Effect<{ readonly send: CryptoKey; readonly receive: CryptoKey }, StreamClosed> {
    return Effect.zipWith(this.keyFor(stream, "send"), this.keyFor(stream, "receive"), (send, receive) => ({
      send,
      receive
    }))
  }

  /** The sealer of this party's records on `stream`; each stream id once. */
  outgoing(stream: number): Effect.Effect<RecordSealer, StreamClosed> {
    return Effect.map(this.keyFor(stream, "send"), (key) => RecordSealer.under(key, stream))
  }

  /** The opener of the peer's records on `stream`; each stream id once. */
  incoming(stream: number): Effect.Effect<RecordOpener, StreamClosed> {
    return Effect.map(this.keyFor(stream, "receive"), (key) => RecordOpener.under(key, stream))
  }
}
