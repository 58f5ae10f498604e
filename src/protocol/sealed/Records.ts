import { Effect } from "effect"
import { concat } from "./Bytes.js"
import { aesKey, decrypt, type DecryptFailed, encrypt } from "./Primitives.js"
import {
  RecordAltered,
  type RecordError,
  RecordOversize,
  RecordReordered,
  RecordReplayed,
  RecordTruncated,
  StreamClosed
} from "./SealedErrors.js"

/**
 * Sealed records: one direction of one stream, under its direction's AES-256-GCM key. The
 * AES-GCM nonce is the stream's id (32 bits), then the record's counter (64 bits), big-endian:
 * a stream id is used once per direction, so no key and nonce ever repeat.
 *
 * A record (integers big-endian):
 *
 *   offset  size  field
 *        0     1  type     0x01 data, 0x02 end (its plaintext is empty)
 *        1     8  counter  the record's number on its stream, from 0
 *        9     4  length   bytes of ciphertext that follow: plaintext + 16-byte tag
 *       13     n  ciphertext
 *
 * The 13-byte header is the associated data, so a changed type, counter or length fails to
 * authenticate like a changed ciphertext. The receiver takes counters strictly in order: a
 * lower one is a replay, a higher one a reordering or a loss. Every stream ends with exactly
 * one end record; a stream that stops without it was truncated. A sender never reuses a
 * counter, and stops (StreamClosed) long before the 64-bit counter could wrap.
 */

export const HEADER = 13
export const TAG = 16
/** The most plaintext one record carries. */
export const MAX_RECORD_PLAINTEXT = 64 * 1024
const DATA = 0x01
const END = 0x02
/** Counters stay exact JS integers; a stream this long must be replaced by a new one. */
export const MAX_RECORDS = Number.MAX_SAFE_INTEGER - 1

/**
 * AES-256-GCM under one key, with the record's nonce (stream id, counter). WebCrypto's by
 * default (browser and Node alike); a Node process may pass a synchronous one of node:crypto.
 */
export interface RecordCipher {
  readonly encrypt: (n: bigint, ad: Uint8Array, plaintext: Uint8Array, prefix: number) => Effect.Effect<Uint8Array>
  readonly decrypt: (
    n: bigint,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    prefix: number
  ) => Effect.Effect<Uint8Array, DecryptFailed>
}

export const webCryptoCipher = (key: CryptoKey): RecordCipher => ({
  encrypt: (n, ad, plaintext, prefix) => encrypt(key, n, ad, plaintext, prefix),
  decrypt: (n, ad, ciphertext, prefix) => decrypt(key, n, ad, ciphertext, prefix)
})

const isCipher = (key: CryptoKey | RecordCipher): key is RecordCipher =>
  typeof (key as Partial<RecordCipher>).encrypt === "function"
const cipherOf = (key: CryptoKey | RecordCipher) => isCipher(key) ? key : webCryptoCipher(key)

const header = (type: number, counter: number, length: number) => {
  const bytes = new Uint8Array(HEADER)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, type)
  view.setBigUint64(1, BigInt(counter), false)
  view.setUint32(9, length, false)
  return bytes
}

/** The sending half of a stream: seals data records in order, then one end record. */
export class RecordSealer {
  private counter = 0
  private ended = false
  private constructor(private readonly cipher: RecordCipher, readonly limit: number, private readonly stream: number) {}

  static readonly make = (key: Uint8Array, limit = MAX_RECORD_PLAINTEXT) =>
    Effect.map(aesKey(key), (k) => new RecordSealer(webCryptoCipher(k), limit, 0))

  /** Stream `stream`'s sealer under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey | RecordCipher, stream: number, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordSealer(cipherOf(key), limit, stream)

  private next(type: number, plaintext: Uint8Array): Effect.Effect<Uint8Array, StreamClosed> {
    if (this.ended) return Effect.fail(new StreamClosed({ message: "the stream already ended" }))
    // One counter is always left for the end record.
    if (this.counter >= (type === END ? MAX_RECORDS + 1 : MAX_RECORDS)) {
      return Effect.fail(new StreamClosed({ message: "the stream's counter is spent; end it and open a new one" }))
    }
    const counter = this.counter++
    if (type === END) this.ended = true
    const ad = header(type, counter, plaintext.length + TAG)
    return Effect.map(
      this.cipher.encrypt(BigInt(counter), ad, plaintext, this.stream),
      (ciphertext) => concat(ad, ciphertext)
    )
  }

  /** One data record; more than `limit` bytes is refused (see `sealAll`). */
  seal(plaintext: Uint8Array): Effect.Effect<Uint8Array, RecordOversize | StreamClosed> {
    if (plaintext.length > this.limit) {
      return Effect.fail(new RecordOversize({ size: plaintext.length, limit: this.limit }))
    }
    return this.next(DATA, plaintext)
  }

  /** Data of any size as records of at most `limit` bytes each. */
  sealAll(data: Uint8Array): Effect.Effect<ReadonlyArray<Uint8Array>, StreamClosed> {
    const parts: Array<Uint8Array> = []
    for (let at = 0; at < data.length || parts.length === 0; at += this.limit) {
      parts.push(data.subarray(at, at + this.limit))
    }
    return Effect.forEach(parts, (part) => this.next(DATA, part))
  }

  /** The end record: after it the stream takes nothing more. */
  end(): Effect.Effect<Uint8Array, StreamClosed> {
    return this.next(END, new Uint8Array(0))
  }
}

export type Opened = { readonly _tag: "Data"; readonly data: Uint8Array } | { readonly _tag: "End" }

/**
 * The receiving half of a stream. Records come one per message (`open`) or as a byte stream
 * cut anywhere (`feed`); `finish` says the carrier ended. The first error ends the stream:
 * every later call fails with StreamClosed.
 */
export class RecordOpener {
  private expected = 0
  private ended = false
  private failed: RecordError | undefined
  private buffer: Uint8Array = new Uint8Array(0)
  private constructor(private readonly cipher: RecordCipher, readonly limit: number, private readonly stream: number) {}

  static readonly make = (key: Uint8Array, limit = MAX_RECORD_PLAINTEXT) =>
    Effect.map(aesKey(key), (k) => new RecordOpener(webCryptoCipher(k), limit, 0))

  /** Stream `stream`'s opener under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey | RecordCipher, stream: number, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordOpener(cipherOf(key), limit, stream)

  get complete(): boolean {
    return this.ended
  }

  private stop<E extends RecordError>(error: E): Effect.Effect<never, E> {
    this.failed = error
    return Effect.fail(error)
  }

  private refuseIfStopped(): StreamClosed | undefined {
    if (this.failed !== undefined) return new StreamClosed({ message: `the stream failed: ${this.failed.message}` })
    if (this.ended) return new StreamClosed({ message: "a record came after the stream's end record" })
    return undefined
  }

  /** Checks a header before its body is read: an oversize record is refused unbuffered. */
  private checkHeader(bytes: Uint8Array): Effect.Effect<number, RecordError> {
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER)
    const length = view.getUint32(9, false)
    if (length > this.limit + TAG) return this.stop(new RecordOversize({ size: length - TAG, limit: this.limit }))
    if (length < TAG) return this.stop(new RecordAltered({ message: "a sealed record is shorter than its tag" }))
    return Effect.succeed(length)
  }

  /** Exactly one record. */
  open(record: Uint8Array): Effect.Effect<Opened, RecordError> {
    const stopped = this.refuseIfStopped()
    if (stopped !== undefined) return Effect.fail(stopped)
    if (record.length < HEADER) return this.stop(new RecordTruncated({ message: "a sealed record was cut short" }))
    return Effect.flatMap(this.checkHeader(record), (length) => {
      if (record.length < HEADER + length) {
        return this.stop(new RecordTruncated({ message: "a sealed record was cut short" }))
      }
      if (record.length > HEADER + length) {
        return this.stop(new RecordAltered({ message: "a sealed record has bytes after its ciphertext" }))
      }
      return this.decryptRecord(record)
    })
  }

  private decryptRecord(record: Uint8Array): Effect.Effect<Opened, RecordError> {
    const view = new DataView(record.buffer, record.byteOffset, HEADER)
    const type = view.getUint8(0)
    const counter = view.getBigUint64(1, false)
    const expected = BigInt(this.expected)
    if (counter < expected) return this.stop(new RecordReplayed({ expected: this.expected, got: Number(counter) }))
    if (counter > expected) return this.stop(new RecordReordered({ expected: this.expected, got: Number(counter) }))
    if (type !== DATA && type !== END) return this.stop(new RecordAltered({ message: "unknown sealed record type" }))
    return this.cipher.decrypt(counter, record.subarray(0, HEADER), record.subarray(HEADER), this.stream).pipe(
      Effect.catchAll(() => this.stop(new RecordAltered({ message: "a sealed record did not authenticate" }))),
      Effect.flatMap((data): Effect.Effect<Opened, RecordError> => {
        this.expected++
        if (type === DATA) return Effect.succeed({ _tag: "Data", data })
        if (data.length !== 0) return this.stop(new RecordAltered({ message: "an end record carries data" }))
        this.ended = true
        return Effect.succeed({ _tag: "End" })
      })
    )
  }

  /** Bytes of a record stream, cut anywhere: the plaintext of every record they complete. */
  feed(bytes: Uint8Array): Effect.Effect<ReadonlyArray<Uint8Array>, RecordError> {
    return Effect.gen(this, function*() {
      const stopped = this.refuseIfStopped()
      if (stopped !== undefined) return yield* stopped
      this.buffer = this.buffer.length === 0 ? bytes : concat(this.buffer, bytes)
      const out: Array<Uint8Array> = []
      while (this.buffer.length >= HEADER) {
        const length = yield* this.checkHeader(this.buffer)
        if (this.buffer.length < HEADER + length) break
        const record = this.buffer.subarray(0, HEADER + length)
        this.buffer = this.buffer.subarray(HEADER + length)
        if (this.ended) return yield* this.stop(new StreamClosed({ message: "bytes came after the end record" }))
        const opened = yield* this.decryptRecord(record)
        if (opened._tag === "Data") out.push(opened.data)
      }
      if (this.ended && this.buffer.length > 0) {
        return yield* this.stop(new StreamClosed({ message: "bytes came after the end record" }))
      }
      return out
    })
  }

  /** The carrier ended: fine only after the end record, with no partial record left. */
  finish(): Effect.Effect<void, RecordError> {
    if (this.failed !== undefined) return Effect.fail(this.failed)
    if (!this.ended || this.buffer.length > 0) {
      return this.stop(new RecordTruncated({ message: "the sealed stream ended without its end record" }))
    }
    return Effect.void
  }
}
