import { Either } from "effect"
import { concat } from "./Bytes.js"
import { nonceBytes } from "./Primitives.js"
import { DATA, END, HEADER, header, MAX_RECORD_PLAINTEXT, MAX_RECORDS, type Opened, TAG } from "./Records.js"
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
 * AES-256-GCM done synchronously under one key: `seal` gives the ciphertext of the plaintext
 * `parts` joined, in pieces, then the 16-byte tag; `open` gives the plaintext, or undefined when it does not
 * authenticate. The daemon has one in node:crypto (`src/layers/sealed/NodeAead.ts`); a
 * browser has only WebCrypto's asynchronous form and keeps `RecordSealer`/`RecordOpener`.
 */
export interface SyncAead {
  seal(nonce: Uint8Array, ad: Uint8Array, parts: ReadonlyArray<Uint8Array>): ReadonlyArray<Uint8Array>
  open(nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined
}

/**
 * The records of Records.ts, byte for byte the same, sealed and opened without a promise hop:
 * `test/sealed/SyncRecords.test.ts` holds both pairs to the same bytes and the same errors.
 * Each record still costs one AEAD operation; what goes is the async step per record.
 */
export class SyncRecordSealer {
  private counter = 0
  private ended = false
  constructor(
    private readonly aead: SyncAead,
    private readonly stream: number,
    readonly limit = MAX_RECORD_PLAINTEXT
  ) {}

  get isEnded(): boolean {
    return this.ended
  }

  private next(
    type: number,
    parts: ReadonlyArray<Uint8Array>,
    length: number
  ): Either.Either<ReadonlyArray<Uint8Array>, StreamClosed> {
    if (this.ended) return Either.left(new StreamClosed({ message: "the stream already ended" }))
    if (this.counter >= (type === END ? MAX_RECORDS + 1 : MAX_RECORDS)) {
      return Either.left(new StreamClosed({ message: "the stream's counter is spent; end it and open a new one" }))
    }
    const counter = this.counter++
    if (type === END) this.ended = true
    const ad = header(type, counter, length + TAG)
    return Either.right([ad, ...this.aead.seal(nonceBytes(BigInt(counter), this.stream), ad, parts)])
  }

  /**
   * One data record whose plaintext is `parts` joined (a kind byte and a body need no copy
   * first), as pieces to write back to back: header, ciphertext, tag.
   */
  seal(...parts: ReadonlyArray<Uint8Array>): Either.Either<ReadonlyArray<Uint8Array>, RecordOversize | StreamClosed> {
    let length = 0
    for (const part of parts) length += part.length
    if (length > this.limit) return Either.left(new RecordOversize({ size: length, limit: this.limit }))
    return this.next(DATA, parts, length)
  }

  /** The end record: after it the stream takes nothing more. */
  end(): Either.Either<ReadonlyArray<Uint8Array>, StreamClosed> {
    return this.next(END, [], 0)
  }
}

/** The receiving half, as `RecordOpener.feed`/`finish`: the first error ends the stream. */
export class SyncRecordOpener {
  private expected = 0
  private ended = false
  private failed: RecordError | undefined
  private buffer: Uint8Array = new Uint8Array(0)
  constructor(
    private readonly aead: SyncAead,
    private readonly stream: number,
    readonly limit = MAX_RECORD_PLAINTEXT
  ) {}

  get complete(): boolean {
    return this.ended
  }

  /** Bytes of a record not yet whole are held. */
  get pending(): boolean {
    return this.buffer.length > 0
  }

  private stop<E extends RecordError>(error: E): Either.Either<never, E> {
    this.failed = error
    return Either.left(error)
  }

  private refuseIfStopped(): StreamClosed | undefined {
    if (this.failed !== undefined) return new StreamClosed({ message: `the stream failed: ${this.failed.message}` })
    if (this.ended) return new StreamClosed({ message: "a record came after the stream's end record" })
    return undefined
  }

  private checkHeader(bytes: Uint8Array): Either.Either<number, RecordError> {
    const length = new DataView(bytes.buffer, bytes.byteOffset, HEADER).getUint32(9, false)
    if (length > this.limit + TAG) return this.stop(new RecordOversize({ size: length - TAG, limit: this.limit }))
    if (length < TAG) return this.stop(new RecordAltered({ message: "a sealed record is shorter than its tag" }))
    return Either.right(length)
  }

  private decryptRecord(record: Uint8Array): Either.Either<Opened, RecordError> {
    const view = new DataView(record.buffer, record.byteOffset, HEADER)
    const type = view.getUint8(0)
    const counter = view.getBigUint64(1, false)
    const expected = BigInt(this.expected)
    if (counter < expected) return this.stop(new RecordReplayed({ expected: this.expected, got: Number(counter) }))
    if (counter > expected) return this.stop(new RecordReordered({ expected: this.expected, got: Number(counter) }))
    if (type !== DATA && type !== END) return this.stop(new RecordAltered({ message: "unknown sealed record type" }))
    const data = this.aead.open(nonceBytes(counter, this.stream), record.subarray(0, HEADER), record.subarray(HEADER))
    if (data === undefined) return this.stop(new RecordAltered({ message: "a sealed record did not authenticate" }))
    this.expected++
    if (type === DATA) return Either.right({ _tag: "Data", data })
    if (data.length !== 0) return this.stop(new RecordAltered({ message: "an end record carries data" }))
    this.ended = true
    return Either.right({ _tag: "End" })
  }

  /** Bytes of a record stream, cut anywhere: the plaintext of every record they complete. */
  feed(bytes: Uint8Array): Either.Either<ReadonlyArray<Uint8Array>, RecordError> {
    const stopped = this.refuseIfStopped()
    if (stopped !== undefined) return Either.left(stopped)
    this.buffer = this.buffer.length === 0 ? bytes : concat(this.buffer, bytes)
    const out: Array<Uint8Array> = []
    while (this.buffer.length >= HEADER) {
      const length = this.checkHeader(this.buffer)
      if (Either.isLeft(length)) return Either.left(length.left)
      if (this.buffer.length < HEADER + length.right) break
      const record = this.buffer.subarray(0, HEADER + length.right)
      this.buffer = this.buffer.subarray(HEADER + length.right)
      if (this.ended) return this.stop(new StreamClosed({ message: "bytes came after the end record" }))
      const opened = this.decryptRecord(record)
      if (Either.isLeft(opened)) return Either.left(opened.left)
      if (opened.right._tag === "Data") out.push(opened.right.data)
    }
    if (this.ended && this.buffer.length > 0) {
      return this.stop(new StreamClosed({ message: "bytes came after the end record" }))
    }
    return Either.right(out)
  }

  /** The carrier ended: fine only after the end record, with no partial record left. */
  finish(): Either.Either<void, RecordError> {
    if (this.failed !== undefined) return Either.left(this.failed)
    if (!this.ended || this.buffer.length > 0) {
      return this.stop(new RecordTruncated({ message: "the sealed stream ended without its end record" }))
    }
    return Either.right(undefined)
  }
}
