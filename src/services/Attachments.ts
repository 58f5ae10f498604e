import { Context, type Effect, type Either, type Stream } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import type { AttachmentNotFound, PayloadTooLarge, QuotaExceeded } from "../protocol/Errors.js"

/** A file as it arrives: its name and declared type as the client sent them, and its bytes. */
export interface UploadFile<E> {
  readonly name: string
  readonly contentType: string
  readonly content: Stream.Stream<Uint8Array, E>
}

/** A stored file to send back: its reference and its bytes. */
export interface OpenedAttachment {
  readonly ref: AttachmentRef
  readonly content: Stream.Stream<Uint8Array>
}

/**
 * Uploaded files that messages refer to. Upload and download are raw HTTP routes
 * (AttachmentRoutes). Expired files are removed lazily, when requests arrive.
 */
export class Attachments extends Context.Tag("repowire/Attachments")<Attachments, {
  /** Turns the ids a message names into references; an unknown or expired id fails. */
  readonly resolve: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<AttachmentRef>, AttachmentNotFound>
  /** `resolve` as a synchronous step, at time `now`. */
  readonly resolveNow: (
    ids: ReadonlyArray<string>,
    now: number
  ) => Either.Either<ReadonlyArray<AttachmentRef>, AttachmentNotFound>
  /** Stores one file: larger than the per-file limit → PayloadTooLarge, past the quota → QuotaExceeded. */
  readonly upload: <E>(file: UploadFile<E>) => Effect.Effect<AttachmentRef, PayloadTooLarge | QuotaExceeded | E>
  readonly open: (id: string) => Effect.Effect<OpenedAttachment, AttachmentNotFound>
  /** Removes files now (an upload that failed part-way drops what it had stored). */
  readonly remove: (ids: ReadonlyArray<string>) => Effect.Effect<void>
  /** Removes expired files now; returns how many. */
  readonly sweep: Effect.Effect<number>
  /** Bytes and files currently stored. */
  readonly usage: Effect.Effect<{ readonly files: number; readonly bytes: number }>
}>() {}
