import { Schema } from "effect"
import { AttachmentIds, AttachmentRef } from "./Attachment.js"
import { Circle } from "./Peer.js"
import { strict } from "./Strict.js"

export const CorrelationId = Schema.String.pipe(
  Schema.pattern(/^ask-[a-z0-9]{8,40}$/, { message: () => "a correlation id looks like ask-…" }),
  Schema.annotations({ identifier: "CorrelationId" })
)

export const MessageId = Schema.String.pipe(Schema.pattern(/^msg-[a-z0-9]{8,40}$/))

export const MessageText = Schema.String.pipe(
  Schema.minLength(1, { message: () => "text must not be empty" }),
  Schema.maxLength(65_536, { message: () => "text is at most 65536 characters" })
)

/** A peer id or a display name. */
export const PeerRef = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a peer id or display name is required" }),
  Schema.maxLength(128)
)

export const Delivery = Schema.Literal("queued", "delivered")
export type Delivery = typeof Delivery.Type

/** `failed`: refused for good where it was going (another machine's rules, say); never retried. */
export const MessageState = Schema.Literal("queued", "delivered", "acked", "expired", "failed")
export type MessageState = typeof MessageState.Type

export const MessageKind = Schema.Literal("ask", "notify", "broadcast", "reply")
export type MessageKind = typeof MessageKind.Type

export const AskRequest = Schema.Struct({
  from_peer: PeerRef,
  to_peer: PeerRef,
  text: MessageText,
  reply_to: Schema.optional(CorrelationId),
  circle: Schema.optional(Circle),
  attachments: Schema.optional(AttachmentIds)
}).pipe(strict)
export type AskRequest = typeof AskRequest.Type

export const AskAccepted = Schema.Struct({ correlation_id: Schema.String, delivery: Delivery })
export type AskAccepted = typeof AskAccepted.Type

export const AckRequest = Schema.Struct({
  correlation_id: CorrelationId,
  message: Schema.optional(MessageText),
  attachments: Schema.optional(AttachmentIds)
}).pipe(strict)
export type AckRequest = typeof AckRequest.Type

export const AckAccepted = Schema.Struct({
  correlation_id: Schema.String,
  state: Schema.Literal("acked"),
  /** The reply message, when the ack carried one. */
  reply: Schema.NullOr(Schema.Struct({ id: Schema.String, delivery: Delivery }))
})
export type AckAccepted = typeof AckAccepted.Type

export const NotifyRequest = Schema.Struct({
  from_peer: PeerRef,
  to_peer: PeerRef,
  text: MessageText,
  circle: Schema.optional(Circle),
  attachments: Schema.optional(AttachmentIds)
}).pipe(strict)
export type NotifyRequest = typeof NotifyRequest.Type

export const NotifyAccepted = Schema.Struct({ id: Schema.String, delivery: Delivery })
export type NotifyAccepted = typeof NotifyAccepted.Type

export const BroadcastRequest = Schema.Struct({
  from_peer: PeerRef,
  text: MessageText,
  circle: Schema.optional(Circle),
  /** `local` (the default): this machine's peers; `mesh`: the peers of every linked machine too. */
  scope: Schema.optional(Schema.Literal("local", "mesh")),
  attachments: Schema.optional(AttachmentIds)
}).pipe(strict)
export type BroadcastRequest = typeof BroadcastRequest.Type

export const BroadcastAccepted = Schema.Struct({
  id: Schema.String,
  delivered: Schema.Array(Schema.String),
  queued: Schema.Array(Schema.String),
  /** Recipients that do not get this broadcast, and why: a full delivery queue, or an access rule. */
  skipped: Schema.Array(Schema.Struct({ name: Schema.String, reason: Schema.String }))
})
export type BroadcastAccepted = typeof BroadcastAccepted.Type

/** One unit of delivery to one peer. */
export const Message = Schema.Struct({
  id: Schema.String,
  kind: MessageKind,
  from_peer: Schema.String,
  from_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.String,
  text: Schema.String,
  /** ask: its own id; reply: the ask it answers. */
  correlation_id: Schema.NullOr(Schema.String),
  reply_to: Schema.NullOr(Schema.String),
  attachments: Schema.Array(AttachmentRef),
  state: MessageState,
  created_at: Schema.String
})
export type Message = typeof Message.Type

export const AskState = Schema.Literal("queued", "delivered", "acked", "failed")

export const Ask = Schema.Struct({
  correlation_id: Schema.String,
  from_peer: Schema.String,
  from_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.String,
  text: Schema.String,
  reply_to: Schema.NullOr(Schema.String),
  attachments: Schema.Array(AttachmentRef),
  state: AskState,
  reply: Schema.NullOr(Schema.String),
  reply_attachments: Schema.Array(AttachmentRef),
  /** Why a failed ask can never reach its target. */
  failure: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  acked_at: Schema.NullOr(Schema.String)
})
export type Ask = typeof Ask.Type

export const AskList = Schema.Struct({ asks: Schema.Array(Ask) })

export const AskDirection = Schema.Literal("inbound", "outbound")

export const DeliveryList = Schema.Struct({ messages: Schema.Array(Message) })

/**
 * A peer confirms it handed peeked messages (`GET /deliveries?peek=true`) to its agent: only
 * then are they delivered. An agent whose hand-over can fail (OpenCode's plugin prompt) peeks,
 * hands over, and confirms, so nothing is marked delivered that the agent did not get.
 */
export const ConfirmDeliveries = Schema.Struct({
  peer: PeerRef,
  message_ids: Schema.Array(MessageId).pipe(Schema.maxItems(1000))
})
export type ConfirmDeliveries = typeof ConfirmDeliveries.Type

/** The confirmed messages that are now delivered to the peer (unknown or foreign ids are left out). */
export const DeliveriesConfirmed = Schema.Struct({ delivered: Schema.Array(Schema.String) })
