import { Effect } from "effect"
import { RecordFailure } from "./core/Failures.js"
import * as Core from "./core/Records.js"
import type { Opened } from "./core/Records.js"
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
 * Sealed records (the format is in ./core/Records.ts) as effects for the daemon: the
 * Effect-free core's sealer and opener, which the browser uses directly, their RecordFailure
 * becoming the typed errors of SealedErrors.ts.
 */

export { DATA, END, HEADER, header, MAX_RECORD_PLAINTEXT, MAX_RECORDS, type Opened, TAG } from "./core/Records.js"

/** The typed error a core RecordFailure stands for, field for field. */
export const toRecordError = (failure: RecordFailure): RecordError => {
  const f = failure.fields
  switch (f.tag) {
    case "RecordReplayed":
      return new RecordReplayed({ expected: f.expected, got: f.got })
    case "RecordReordered":
      return new RecordReordered({ expected: f.expected, got: f.got })
    case "RecordOversize":
      return new RecordOversize({ size: f.size, limit: f.limit })
    case "RecordTruncated":
      return new RecordTruncated({ message: f.message })
    case "RecordAltered":
      return new RecordAltered({ message: f.message })
    case "StreamClosed":
      return new StreamClosed({ message: f.message })
  }
}

/** A core promise as an effect: its RecordFailure typed (E: the ones it can reject with), anything else a defect. */
const fromCore = <A, E extends RecordError = RecordError>(run: () => Promise<A>): Effect.Effect<A, E> =>
  Effect.tryPromise({ try: run, catch: (e) => e }).pipe(
    Effect.catchAll((e) => (e instanceof RecordFailure ? Effect.fail(toRecordError(e) as E) : Effect.die(e)))
  )

/**
 * Started at once, as the sealer always has: the counter is taken when the effect is made, so
 * effects made in order and run side by side (ChannelStream's batches) keep their order.
 */
const started = <A, E extends RecordError>(promise: Promise<A>): Effect.Effect<A, E> => {
  promise.catch(() => undefined)
  return fromCore(() => promise)
}

/** The sending half of a stream: seals data records in order, then one end record. */
export class RecordSealer {
  constructor(readonly core: Core.RecordSealer) {}

  static readonly make = (key: Uint8Array, limit?: number) =>
    Effect.promise(() => Core.RecordSealer.make(key, limit).then((core) => new RecordSealer(core)))

  /** Stream `stream`'s sealer under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey, stream: number, limit?: number) =>
    new RecordSealer(Core.RecordSealer.under(key, stream, limit))

  get limit(): number {
    return this.core.limit
  }

  /** One data record; more than `limit` bytes is refused (see `sealAll`). */
  seal(plaintext: Uint8Array): Effect.Effect<Uint8Array, RecordOversize | StreamClosed> {
    return started(this.core.seal(plaintext))
  }

  /** Data of any size as records of at most `limit` bytes each. */
  sealAll(data: Uint8Array): Effect.Effect<ReadonlyArray<Uint8Array>, StreamClosed> {
    return started(this.core.sealAll(data))
  }

  /** The end record: after it the stream takes nothing more. */
  end(): Effect.Effect<Uint8Array, StreamClosed> {
    return started(this.core.end())
  }
}

/**
 * The receiving half of a stream. Records come one per message (`open`) or as a byte stream
 * cut anywhere (`feed`); `finish` says the carrier ended. The first error ends the stream:
 * every later call fails with StreamClosed.
 */
export class RecordOpener {
  constructor(readonly core: Core.RecordOpener) {}

  static readonly make = (key: Uint8Array, limit?: number) =>
    Effect.promise(() => Core.RecordOpener.make(key, limit).then((core) => new RecordOpener(core)))

  /** Stream `stream`'s opener under a direction key shared by every stream of a session. */
  static readonly under = (key: CryptoKey, stream: number, limit?: number) =>
    new RecordOpener(Core.RecordOpener.under(key, stream, limit))

  get limit(): number {
    return this.core.limit
  }

  get complete(): boolean {
    return this.core.complete
  }

  /** Exactly one record. */
  open(record: Uint8Array): Effect.Effect<Opened, RecordError> {
    return fromCore(() => this.core.open(record))
  }

  /** Bytes of a record stream, cut anywhere: the plaintext of every record they complete. */
  feed(bytes: Uint8Array): Effect.Effect<ReadonlyArray<Uint8Array>, RecordError> {
    // Started at once: the core takes the records' counters when called (see its feed).
    return started(this.core.feed(bytes))
  }

  /** The carrier ended: fine only after the end record, with no partial record left. */
  finish(): Effect.Effect<void, RecordError> {
    return fromCore(() => this.core.finish())
  }
}
