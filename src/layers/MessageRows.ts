import { Schema } from "effect"
import { AttachmentRef } from "../protocol/Attachment.js"
import { AskState, type Message, MessageKind, MessageState } from "../protocol/Message.js"

const Attachments = Schema.parseJson(Schema.Array(AttachmentRef))
const Time = Schema.Number.pipe(
  Schema.transform(Schema.String, {
    strict: true,
    decode: (ms) => new Date(ms).toISOString(),
    encode: (iso) => Date.parse(iso)
  })
)

/** A `messages` row decoded into a Message. */
export const MessageRow = Schema.Struct({
  id: Schema.String,
  kind: MessageKind,
  from_peer: Schema.String,
  from_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.String,
  text: Schema.String,
  correlation_id: Schema.NullOr(Schema.String),
  reply_to: Schema.NullOr(Schema.String),
  attachments: Attachments,
  state: MessageState,
  created_at: Time
})

export const messageColumns = (m: Omit<Message, "state">) => ({
  ...m,
  attachments: JSON.stringify(m.attachments),
  created_at: Date.parse(m.created_at)
})

/** An `asks` row decoded into an Ask. */
export const AskRow = Schema.Struct({
  correlation_id: Schema.String,
  from_peer: Schema.String,
  from_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.String,
  text: Schema.String,
  reply_to: Schema.NullOr(Schema.String),
  attachments: Attachments,
  state: AskState,
  reply: Schema.NullOr(Schema.String),
  reply_attachments: Attachments,
  created_at: Time,
  acked_at: Schema.NullOr(Time)
})
