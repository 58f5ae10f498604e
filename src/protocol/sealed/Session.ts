import { Effect } from "effect"
import { concat, utf8 } from "./Bytes.js"
import type { HandshakeResult } from "./Handshake.js"
import { aesKey, hmac } from "./Primitives.js"
import { type RecordCipher, RecordOpener, RecordSealer } from "./Records.js"
import { StreamClosed } from "./SealedErrors.js"

const DIRECTION_LABEL = utf8("repowire/sealed/direction/v2")
const MAX_STREAM_ID = 0xffff_ffff

/** HKDF-Expand (RFC 5869) of one block: a transport key (uniformly random, from Noise's Split) as the PRK. */
const directionKeyBytes = (transportKey: Uint8Array) => hmac(transportKey, concat(DIRECTION_LABEL, Uint8Array.of(1)))
const directionKey = (transportKey: Uint8Array): Promise<CryptoKey> =>
  Effect.runPromise(Effect.flatMap(directionKeyBytes(transportKey), aesKey))

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

  private claim(stream: number, direction: "send" | "receive"): StreamClosed | undefined {
    const used = direction === "send" ? this.sent : this.received
    if (!Number.isSafeInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) {
      return new StreamClosed({ message: `stream id ${stream} is not a 32-bit unsigned integer` })
    }
    if (used.has(stream)) return new StreamClosed({ message: `stream ${stream} was already used in this direction` })
    used.add(stream)
    return undefined
  }

  private keyFor(stream: number, direction: "send" | "receive"): Effect.Effect<CryptoKey, StreamClosed> {
    const refused = this.claim(stream, direction)
    if (refused !== undefined) return Effect.fail(refused)
    const key = this.keys[direction] ??= directionKey(direction === "send" ? this.sendKey : this.receiveKey)
    return Effect.promise(() => key)
  }

  /** The sealer of this party's records on `stream`; each stream id once. */
  outgoing(stream: number): Effect.Effect<RecordSealer, StreamClosed> {
    return Effect.map(this.keyFor(stream, "send"), (key) => RecordSealer.under(key, stream))
  }

  /**
   * Both halves of `stream` under ciphers that `cipherOf` makes from the direction keys' bytes
   * (a synchronous node:crypto one in the daemon); the same records as `outgoing`/`incoming`.
   */
  streamWith(
    stream: number,
    cipherOf: (directionKey: Uint8Array) => RecordCipher
  ): Effect.Effect<{ readonly sealer: RecordSealer; readonly opener: RecordOpener }, StreamClosed> {
    const refused = this.claim(stream, "send") ?? this.claim(stream, "receive")
    if (refused !== undefined) return Effect.fail(refused)
    return Effect.map(
      Effect.all([directionKeyBytes(this.sendKey), directionKeyBytes(this.receiveKey)]),
      ([send, receive]) => ({
        sealer: RecordSealer.under(cipherOf(send), stream),
        opener: RecordOpener.under(cipherOf(receive), stream)
      })
    )
  }

  /** The opener of the peer's records on `stream`; each stream id once. */
  incoming(stream: number): Effect.Effect<RecordOpener, StreamClosed> {
    return Effect.map(this.keyFor(stream, "receive"), (key) => RecordOpener.under(key, stream))
  }
}
