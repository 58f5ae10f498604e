import { Schema } from "effect"
import { AttachmentRef } from "../protocol/Attachment.js"
import { Ask, Message } from "../protocol/Message.js"

/** Columns that SQLite stores differently from the wire: JSON text and epoch milliseconds. */
const Attachments = Schema.parseJson(Schema.Array(AttachmentRef))
const Time = Schema.Number.pipe(
  Schema.transform(Schema.String, {
    strict: true,
    decode: (ms) => new Date(ms).toISOString(),
    encode: (iso) => Date.parse(iso)
  })
)

/** A `messages` row decoded into a Message. */
export const MessageRow = Schema.Struct({ ...Message.fields, attachments: Attachments, created_at: Time })

export const messageColumns = (m: Omit<Message, "state">) => ({
  ...m,
  attachments: JSON.stringify(m.attachments),
  created_at: Date.parse(m.created_at)
})

/** An `asks` row decoded into an Ask. */
export const AskRow = Schema.Struct({
  ...Ask.fields,
  attachments: Attachments,
  reply_attachments: Attachments,
  created_at: Time,
  acked_at: Schema.NullOr(Time)
})
