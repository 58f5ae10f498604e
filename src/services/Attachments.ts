import { Context, type Effect } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import type { AttachmentNotFound } from "../protocol/Errors.js"

/** Uploaded files that messages refer to. Upload and download are raw HTTP routes. */
export class Attachments extends Context.Tag("repowire/Attachments")<Attachments, {
  /** Turns the ids a message names into references; an unknown or expired id fails. */
  readonly resolve: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<AttachmentRef>, AttachmentNotFound>
}>() {}
