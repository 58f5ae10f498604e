import { Schema } from "effect"

export const AttachmentId = Schema.String.pipe(
  Schema.pattern(/^att-[a-z0-9]{8,40}$/),
  Schema.annotations({ identifier: "AttachmentId" })
)

/** What a message carries: a reference to an uploaded file. */
export const AttachmentRef = Schema.Struct({
  id: AttachmentId,
  name: Schema.String,
  size: Schema.Int,
  content_type: Schema.String,
  /** Where an agent on this machine reads the file. */
  path: Schema.String
})
export type AttachmentRef = typeof AttachmentRef.Type

export const AttachmentIds = Schema.Array(AttachmentId).pipe(Schema.maxItems(16))
