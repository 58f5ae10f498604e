import { concat, utf8 } from "../Bytes.js"
import type { CipherState } from "./CipherState.js"
import { aesKey, hmac } from "./Crypto.js"
import { type RecordFailure, streamClosed } from "./Failures.js"
import { RecordOpener, RecordSealer } from "./Records.js"

const DIRECTION_LABEL = utf8("repowire/sealed/direction/v2")
const MAX_STREAM_ID = 0xffff_ffff

/** HKDF-Expand (RFC 5869) of one block: a transport key (uniformly random, from Noise's Split) as the PRK. */
const directionKey = async (transportKey: Uint8Array): Promise<CryptoKey> =>
  aesKey(await hmac(transportKey, concat(DIRECTION_LABEL, Uint8Array.of(1))))

type Direction = "send" | "receive"

export interface StreamKeys {
  readonly send: CryptoKey
  readonly receive: CryptoKey
}

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
  /** The keys once derived: later streams take them without a promise hop. */
  private ready: { send?: CryptoKey; receive?: CryptoKey } = {}

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

  /** Claims `stream` in one direction: StreamClosed for an id that is not a u32 or was used. */
  private claim(stream: number, direction: Direction): RecordFailure | undefined {
    const used = direction === "send" ? this.sent : this.received
    if (!Number.isSafeInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) {
      return streamClosed(`stream id ${stream} is not a 32-bit unsigned integer`)
    }
    if (used.has(stream)) return streamClosed(`stream ${stream} was already used in this direction`)
    used.add(stream)
    return undefined
  }

  private derive(direction: Direction): Promise<CryptoKey> {
    return this.keys[direction] ??= directionKey(direction === "send" ? this.sendKey : this.receiveKey).then(
      (key) => (this.ready[direction] = key)
    )
  }

  private keyFor(stream: number, direction: Direction): Promise<CryptoKey> {
    const refused = this.claim(stream, direction)
    return refused === undefined ? this.derive(direction) : Promise.reject(refused)
  }

  /**
   * Both direction keys for `stream`, claiming its id both ways like `outgoing` and `incoming`:
   * for records sealed by a synchronous AEAD (../SyncRecords.ts) under the same keys. Once
   * both keys are derived they come at once, without a promise.
   */
  streamKeys(stream: number): StreamKeys | Promise<StreamKeys> {
    const refused = this.claim(stream, "send") ?? this.claim(stream, "receive")
    if (refused !== undefined) return Promise.reject(refused)
    const { receive, send } = this.ready
    if (send !== undefined && receive !== undefined) return { send, receive }
    return Promise.all([this.derive("send"), this.derive("receive")]).then(([send, receive]) => ({ send, receive }))
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
