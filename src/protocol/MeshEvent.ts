import { Schema } from "effect"
import { AttachmentRef } from "./Attachment.js"
import { Peer, PeerStatus, TurnState } from "./Peer.js"
import { strict } from "./Strict.js"

const base = {
  id: Schema.Int,
  at: Schema.String,
  circle: Schema.String
}

const party = {
  from_peer: Schema.String,
  from_name: Schema.String
}

export const PeerJoined = Schema.Struct({ ...base, type: Schema.Literal("peer_joined"), peer: Peer })
export const PeerLeft = Schema.Struct({
  ...base,
  type: Schema.Literal("peer_left"),
  peer_id: Schema.String,
  display_name: Schema.String
})
export const PeerStatusChanged = Schema.Struct({
  ...base,
  type: Schema.Literal("peer_status"),
  peer_id: Schema.String,
  display_name: Schema.String,
  status: PeerStatus
})
export const PeerUpdated = Schema.Struct({ ...base, type: Schema.Literal("peer_updated"), peer: Peer })

export const AskEvent = Schema.Struct({
  ...base,
  ...party,
  type: Schema.Literal("ask"),
  correlation_id: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  text: Schema.String,
  reply_to: Schema.NullOr(Schema.String),
  attachments: Schema.Array(AttachmentRef)
})
export const AckEvent = Schema.Struct({
  ...base,
  ...party,
  type: Schema.Literal("ack"),
  correlation_id: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  reply: Schema.NullOr(Schema.String),
  attachments: Schema.Array(AttachmentRef)
})
export const NotifyEvent = Schema.Struct({
  ...base,
  ...party,
  type: Schema.Literal("notify"),
  message_id: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  text: Schema.String,
  attachments: Schema.Array(AttachmentRef)
})
export const BroadcastEvent = Schema.Struct({
  ...base,
  ...party,
  type: Schema.Literal("broadcast"),
  message_id: Schema.String,
  text: Schema.String,
  recipients: Schema.Array(Schema.String),
  attachments: Schema.Array(AttachmentRef)
})
export const DeliveryEvent = Schema.Struct({
  ...base,
  type: Schema.Literal("delivery"),
  message_id: Schema.String,
  correlation_id: Schema.NullOr(Schema.String),
  to_peer: Schema.String,
  to_name: Schema.String,
  /** `failed`: this attempt did not reach the agent; `refused`: it never will (closed for good). */
  state: Schema.Literal("delivered", "failed", "expired", "refused"),
  detail: Schema.NullOr(Schema.String)
})
export const ChatEvent = Schema.Struct({
  ...base,
  type: Schema.Literal("chat"),
  peer_id: Schema.String,
  display_name: Schema.String,
  role: Schema.Literal("user", "assistant"),
  text: Schema.String
})
export const ToolCallEvent = Schema.Struct({
  ...base,
  type: Schema.Literal("tool_call"),
  peer_id: Schema.String,
  display_name: Schema.String,
  tool: Schema.String,
  summary: Schema.String
})

/** The access rules refused a request: who, whom, what, and the deciding rule (never the text). */
export const PolicyDeniedEvent = Schema.Struct({
  ...base,
  ...party,
  type: Schema.Literal("policy_denied"),
  to_peer: Schema.NullOr(Schema.String),
  to_name: Schema.NullOr(Schema.String),
  action: Schema.NullOr(Schema.String),
  tool: Schema.NullOr(Schema.String),
  via: Schema.Literal("local", "relay"),
  /** 1-based index of the deciding rule; null when the default decided. */
  rule: Schema.NullOr(Schema.Int),
  reason: Schema.String
})

export const MeshEvent = Schema.Union(
  PeerJoined,
  PeerLeft,
  PeerStatusChanged,
  PeerUpdated,
  AskEvent,
  AckEvent,
  NotifyEvent,
  BroadcastEvent,
  DeliveryEvent,
  ChatEvent,
  ToolCallEvent,
  PolicyDeniedEvent
)
export type MeshEvent = typeof MeshEvent.Type
export type MeshEventType = MeshEvent["type"]

/** An event before the log gives it an id and a time. */
export type NewMeshEvent = MeshEvent extends infer E ? E extends MeshEvent ? Omit<E, "id" | "at"> : never : never

export const EventList = Schema.Struct({ events: Schema.Array(MeshEvent) })

/** What hooks report: a chat turn or a tool call of the calling peer. */
export const ChatReport = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("chat"),
    role: Schema.Literal("user", "assistant"),
    text: Schema.String.pipe(Schema.maxLength(65_536))
  }),
  Schema.Struct({
    kind: Schema.Literal("tool_call"),
    tool: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
    summary: Schema.String.pipe(Schema.maxLength(4096))
  })
)
export type ChatReport = typeof ChatReport.Type

export const ChatReportRequest = Schema.Struct({
  peer: Schema.String.pipe(Schema.minLength(1)),
  report: ChatReport,
  /** Busy/idle follows the turn: a user prompt makes the peer busy, an assistant turn idle. */
  status: Schema.optional(PeerStatus),
  /** The agent's turn: UserPromptSubmit starts it (working), Stop ends it (awaiting_input). */
  turn_state: Schema.optional(TurnState)
}).pipe(strict)
export type ChatReportRequest = typeof ChatReportRequest.Type
