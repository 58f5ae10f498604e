import { Schema } from "effect"
import { AttachmentRef } from "./Attachment.js"
import { parseJsonWithin } from "./BoundedJson.js"
import { PeerId, PeerStatus } from "./Peer.js"

/**
 * The /ws agent transport. Frames are JSON objects discriminated by `type`, so clients
 * outside Effect (the OpenCode plugin) speak them easily.
 * client → daemon: connect (first, exactly once), delivery_ack, pong, status.
 * daemon → client: connected, ask, notify, broadcast, ping, error (then close).
 */
export const Connect = Schema.Struct({
  type: Schema.Literal("connect"),
  peer_id: PeerId,
  token: Schema.String.pipe(Schema.minLength(1)),
  /** A session token (daemon.auth_token) when the daemon requires one. */
  auth_token: Schema.optional(Schema.String)
})

export const DeliveryAckFrame = Schema.Struct({
  type: Schema.Literal("delivery_ack"),
  message_id: Schema.String,
  outcome: Schema.Literal("injected", "received", "failed"),
  detail: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
})

export const PongFrame = Schema.Struct({ type: Schema.Literal("pong"), nonce: Schema.String })

export const StatusFrame = Schema.Struct({
  type: Schema.Literal("status"),
  status: PeerStatus,
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
})

export const ClientFrame = Schema.Union(Connect, DeliveryAckFrame, PongFrame, StatusFrame)
export type ClientFrame = typeof ClientFrame.Type
export const ClientFrameJson = parseJsonWithin(ClientFrame)

const delivered = {
  message_id: Schema.String,
  from_peer: Schema.String,
  from_name: Schema.String,
  circle: Schema.String,
  text: Schema.String,
  attachments: Schema.Array(AttachmentRef),
  created_at: Schema.String
}

export const ConnectedFrame = Schema.Struct({
  type: Schema.Literal("connected"),
  peer_id: Schema.String,
  display_name: Schema.String,
  circle: Schema.String
})
export const AskFrame = Schema.Struct({
  type: Schema.Literal("ask"),
  ...delivered,
  correlation_id: Schema.String,
  reply_to: Schema.NullOr(Schema.String)
})
/** A notify; when `in_reply_to` is set it is the answer to that ask. */
export const NotifyFrame = Schema.Struct({
  type: Schema.Literal("notify"),
  ...delivered,
  in_reply_to: Schema.NullOr(Schema.String)
})
export const BroadcastFrame = Schema.Struct({ type: Schema.Literal("broadcast"), ...delivered })
export const PingFrame = Schema.Struct({ type: Schema.Literal("ping"), nonce: Schema.String })
export const ErrorFrame = Schema.Struct({ type: Schema.Literal("error"), code: Schema.Int, reason: Schema.String })

export const ServerFrame = Schema.Union(ConnectedFrame, AskFrame, NotifyFrame, BroadcastFrame, PingFrame, ErrorFrame)
export type ServerFrame = typeof ServerFrame.Type
export const ServerFrameJson = parseJsonWithin(ServerFrame)

export type DeliveryFrame = typeof AskFrame.Type | typeof NotifyFrame.Type | typeof BroadcastFrame.Type

/** WebSocket close codes of /ws (documented in the README). */
export const CloseCode = {
  /** A frame that is not JSON or not a known frame. */
  MalformedFrame: 4000,
  /** Wrong peer token or daemon auth token. */
  Unauthorized: 4001,
  /** The first frame was not `connect`, or `connect` came twice. */
  ConnectExpected: 4002,
  /** Origin or Host not allowed. */
  Forbidden: 4003,
  /** The peer id in `connect` is unknown. */
  UnknownPeer: 4004,
  /** No `connect` within the handshake time. */
  HandshakeTimeout: 4008,
  /** A newer connection for the same peer replaced this one. */
  Replaced: 4009,
  /** The peer was removed. */
  PeerRemoved: 4010,
  /** Missed pings: the link is considered dead. */
  Unresponsive: 4011,
  /** A frame larger than the limit. */
  TooLarge: 4013,
  /** The daemon failed (WebSocket's standard code): a bug, never the client's doing. */
  InternalError: 1011
} as const
