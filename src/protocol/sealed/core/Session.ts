import { concat, utf8 } from "../Bytes.js"
import type { CipherState } from "./CipherState.js"
import { aesKey, hmac } from "./Crypto.js"
import { streamClosed } from "./Failures.js"
import { RecordOpener, RecordSealer } from "./Records.js"

const DIRECTION_LABEL = utf8("repowire/sealed/direction/v2")
const MAX_STREAM_ID = 0xffff_ffff

/** HKDF-Expand (RFC 5869) of one block: a transport key (uniformly random, from Noise's Split) as the PRK. */
const directionKey = async (transportKey: Uint8Array): Promise<CryptoKey> =>
  aesKey(await hmac(transportKey, concat(DIRECTION_LABEL, Uint8Array.of(1))))

/** What a session needs of a completed handshake (the core's or the Effect face's). */
export interface Handshaken {
  readonly send: Pick<CipherState, "rawKey">
  readonly receive: Pick<CipherState, "rawKey">
  readonly handshakeHash: Uint8Array
  readonly remoteStatic: Uint8Array
}

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

  static readonly fromHandshake = (result: Handshaken): SealedSession => {
    const { receive, send } = result
    if (send.rawKey === undefined || receive.rawKey === undefined) throw new Error("a split CipherState has a key")
    return new SealedSession(result.remoteStatic, result.handshakeHash, send.rawKey, receive.rawKey)
  }

  /** Rejects with StreamClosed for a stream id that is not a u32 or was used in this direction. */
  private keyFor(stream: number, direction: "send" | "receive"): Promise<CryptoKey> {
    const used = direction === "send" ? this.sent : this.received
    if (!Number.isSafeInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) {
      return Promise.reject(streamClosed(`stream id ${stream} is not a 32-bit unsigned integer`))
    }
    if (used.has(stream)) {
      return Promise.reject(streamClosed(`stream ${stream} was already used in this direction`))
    }
    used.add(stream)
    return this.keys[direction] ??= directionKey(direction === "send" ? this.sendKey : this.receiveKey)
  }

  /** The sealer of this party's records on `stream`; each stream id once. */
  async outgoing(stream: number): Promise<RecordSealer> {
    return RecordSealer.under(await this.keyFor(stream, "send"), stream)
  }

  /** The opener of the peer's records on `stream`; each stream id once. */
  async incoming(stream: number): Promise<RecordOpener> {
    return RecordOpener.under(await this.keyFor(stream, "receive"), stream)
  }
}
