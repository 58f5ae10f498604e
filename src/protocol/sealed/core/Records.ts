import { concat } from "../Bytes.js"
import { aesKey, decrypt, encrypt } from "./Crypto.js"
import { RecordFailure, type RecordFailureFields, streamClosed } from "./Failures.js"

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
 *
 * Plain promises that reject with RecordFailure; ../Records.ts is the Effect face.
 */

export const HEADER = 13
export const TAG = 16
/** The most plaintext one record carries. */
export const MAX_RECORD_PLAINTEXT = 64 * 1024
export const DATA = 0x01
export const END = 0x02
/** Counters stay exact JS integers; a stream this long must be replaced by a new one. */
export const MAX_RECORDS = Number.MAX_SAFE_INTEGER - 1

export const header = (type: number, counter: number, length: number) => {
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
  private constructor(private readonly key: CryptoKey, readonly limit: number, private readonly stream: number) {}

  static readonly make = async (key: Uint8Array, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordSealer(await aesKey(key), limit, 0)

  /** Stream `stream`'s sealer under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey, stream: number, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordSealer(key, limit, stream)

  private async next(type: number, plaintext: Uint8Array): Promise<Uint8Array> {
    if (this.ended) throw streamClosed("the stream already ended")
    // One counter is always left for the end record.
    if (this.counter >= (type === END ? MAX_RECORDS + 1 : MAX_RECORDS)) {
      throw streamClosed("the stream's counter is spent; end it and open a new one")
    }
    const counter = this.counter++
    if (type === END) this.ended = true
    const ad = header(type, counter, plaintext.length + TAG)
    return concat(ad, await encrypt(this.key, BigInt(counter), ad, plaintext, this.stream))
  }

  /** One data record; more than `limit` bytes is refused (see `sealAll`). */
  seal(plaintext: Uint8Array): Promise<Uint8Array> {
    if (plaintext.length > this.limit) {
      return Promise.reject(new RecordFailure({ tag: "RecordOversize", size: plaintext.length, limit: this.limit }))
    }
    return this.next(DATA, plaintext)
  }

  /** Data of any size as records of at most `limit` bytes each. */
  async sealAll(data: Uint8Array): Promise<ReadonlyArray<Uint8Array>> {
    const parts: Array<Uint8Array> = []
    for (let at = 0; at < data.length || parts.length === 0; at += this.limit) {
      parts.push(data.subarray(at, at + this.limit))
    }
    const out: Array<Uint8Array> = []
    for (const part of parts) out.push(await this.next(DATA, part))
    return out
  }

  /** The end record: after it the stream takes nothing more. */
  end(): Promise<Uint8Array> {
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
  private failed: RecordFailure | undefined
  /** `feed` took the end record's counter (its decryption may still be under way). */
  private endTaken = false
  private buffer: Uint8Array = new Uint8Array(0)
  private constructor(private readonly key: CryptoKey, readonly limit: number, private readonly stream: number) {}

  static readonly make = async (key: Uint8Array, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordOpener(await aesKey(key), limit, 0)

  /** Stream `stream`'s opener under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey, stream: number, limit = MAX_RECORD_PLAINTEXT) =>
    new RecordOpener(key, limit, stream)

  get complete(): boolean {
    return this.ended
  }

  private stop(fields: RecordFailureFields): RecordFailure {
    this.failed = new RecordFailure(fields)
    return this.failed
  }

  private refuseIfStopped(): RecordFailure | undefined {
    if (this.failed !== undefined) return streamClosed(`the stream failed: ${this.failed.message}`)
    if (this.ended) return streamClosed("a record came after the stream's end record")
    return undefined
  }

  /** Checks a header before its body is read: an oversize record is refused unbuffered. */
  private checkHeader(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER)
    const length = view.getUint32(9, false)
    if (length > this.limit + TAG) throw this.stop({ tag: "RecordOversize", size: length - TAG, limit: this.limit })
    if (length < TAG) throw this.stop({ tag: "RecordAltered", message: "a sealed record is shorter than its tag" })
    return length
  }

  /** Exactly one record. */
  async open(record: Uint8Array): Promise<Opened> {
    const stopped = this.refuseIfStopped()
    if (stopped !== undefined) throw stopped
    if (record.length < HEADER) throw this.stop({ tag: "RecordTruncated", message: "a sealed record was cut short" })
    const length = this.checkHeader(record)
    if (record.length < HEADER + length) {
      throw this.stop({ tag: "RecordTruncated", message: "a sealed record was cut short" })
    }
    if (record.length > HEADER + length) {
      throw this.stop({ tag: "RecordAltered", message: "a sealed record has bytes after its ciphertext" })
    }
    return this.decryptRecord(record)
  }

  private async decryptRecord(record: Uint8Array): Promise<Opened> {
    const view = new DataView(record.buffer, record.byteOffset, HEADER)
    const type = view.getUint8(0)
    const counter = view.getBigUint64(1, false)
    const expected = BigInt(this.expected)
    if (counter < expected) throw this.stop({ tag: "RecordReplayed", expected: this.expected, got: Number(counter) })
    if (counter > expected) throw this.stop({ tag: "RecordReordered", expected: this.expected, got: Number(counter) })
    if (type !== DATA && type !== END) throw this.stop({ tag: "RecordAltered", message: "unknown sealed record type" })
    const data = await decrypt(this.key, counter, record.subarray(0, HEADER), record.subarray(HEADER), this.stream)
      .catch(() => {
        throw this.stop({ tag: "RecordAltered", message: "a sealed record did not authenticate" })
      })
    this.expected++
    if (type === DATA) return { _tag: "Data", data }
    if (data.length !== 0) throw this.stop({ tag: "RecordAltered", message: "an end record carries data" })
    this.ended = true
    return { _tag: "End" }
  }

  /**
   * Bytes of a record stream, cut anywhere: the plaintext of every record they complete.
   * Headers are checked and counters taken when `feed` is called, in the order the bytes came;
   * the records' decryptions start then and run side by side (one WebCrypto job each), and
   * the promise gives their plaintexts in order. The errors are those of opening the records
   * one by one: the first record that fails, in stream order, decides.
   */
  feed(bytes: Uint8Array): Promise<ReadonlyArray<Uint8Array>> {
    const stopped = this.refuseIfStopped()
    if (stopped !== undefined) return Promise.reject(stopped)
    this.buffer = this.buffer.length === 0 ? bytes : concat(this.buffer, bytes)
    const records: Array<{ readonly type: number; readonly opening: Promise<Uint8Array | undefined> }> = []
    let refused: RecordFailure | undefined
    while (this.buffer.length >= HEADER) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset, HEADER)
      const length = view.getUint32(9, false)
      if (length > this.limit + TAG) {
        refused = new RecordFailure({ tag: "RecordOversize", size: length - TAG, limit: this.limit })
        break
      }
      if (length < TAG) {
        refused = new RecordFailure({ tag: "RecordAltered", message: "a sealed record is shorter than its tag" })
        break
      }
      if (this.buffer.length < HEADER + length) break
      const record = this.buffer.subarray(0, HEADER + length)
      this.buffer = this.buffer.subarray(HEADER + length)
      if (this.endTaken) {
        refused = streamClosed("bytes came after the end record")
        break
      }
      const type = view.getUint8(0)
      const counter = view.getBigUint64(1, false)
      const expected = BigInt(this.expected)
      if (counter < expected) {
        refused = new RecordFailure({ tag: "RecordReplayed", expected: this.expected, got: Number(counter) })
      } else if (counter > expected) {
        refused = new RecordFailure({ tag: "RecordReordered", expected: this.expected, got: Number(counter) })
      } else if (type !== DATA && type !== END) {
        refused = new RecordFailure({ tag: "RecordAltered", message: "unknown sealed record type" })
      }
      if (refused !== undefined) break
      this.expected++
      if (type === END) this.endTaken = true
      const opening = decrypt(this.key, counter, record.subarray(0, HEADER), record.subarray(HEADER), this.stream)
        .catch(() => undefined)
      records.push({ type, opening })
    }
    if (refused === undefined && this.endTaken && this.buffer.length > 0) {
      refused = streamClosed("bytes came after the end record")
    }
    // Taken now, so a later feed refuses at once; which error the caller sees is settled below.
    if (refused !== undefined) this.failed = refused
    if (records.length === 0) return refused === undefined ? Promise.resolve([]) : Promise.reject(refused)
    return Promise.all(records.map((r) => r.opening)).then((opened) => {
      // An earlier feed's record failed after this one was taken: nothing more comes out.
      if (this.failed !== undefined && this.failed !== refused) {
        throw streamClosed(`the stream failed: ${this.failed.message}`)
      }
      const out: Array<Uint8Array> = []
      for (let i = 0; i < records.length; i++) {
        const data = opened[i]
        if (data === undefined) {
          throw this.stop({ tag: "RecordAltered", message: "a sealed record did not authenticate" })
        }
        if (records[i]!.type === DATA) {
          out.push(data)
          continue
        }
        if (data.length !== 0) throw this.stop({ tag: "RecordAltered", message: "an end record carries data" })
        this.ended = true
      }
      if (refused !== undefined) throw refused
      return out
    })
  }

  /** The carrier ended: fine only after the end record, with no partial record left. */
  async finish(): Promise<void> {
    if (this.failed !== undefined) throw this.failed
    if (!this.ended || this.buffer.length > 0) {
      throw this.stop({ tag: "RecordTruncated", message: "the sealed stream ended without its end record" })
    }
  }
}
