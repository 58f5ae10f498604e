import { Schema } from "effect"
import { AskFrame, BroadcastFrame, NotifyFrame } from "./AgentFrame.js"
import { parseJsonWithin } from "./BoundedJson.js"
import { MachineName } from "./ConfigFile.js"
import { Backend, Circle, Description, PeerId, PeerName, PeerStatus, Role } from "./Peer.js"

/**
 * What linked daemons say to each other, inside their sealed session (JSON, one message per
 * sealed message). The relay sees none of it.
 */

/** A peer as its own daemon shows it to linked daemons. */
export const RemotePeer = Schema.Struct({
  peer_id: PeerId,
  display_name: PeerName,
  path: Schema.NullOr(Schema.String.pipe(Schema.maxLength(4096))),
  backend: Backend,
  circle: Circle,
  role: Role,
  status: PeerStatus,
  description: Description
})
export type RemotePeer = typeof RemotePeer.Type

/** The most peers one daemon may show another: a bound on what a linked daemon can make us store. */
export const MAX_REMOTE_PEERS = 1000

/** The sender's whole peer list (sent when a session starts and whenever it changes). */
export const PeersMessage = Schema.Struct({
  t: Schema.Literal("peers"),
  machine: MachineName,
  peers: Schema.Array(RemotePeer).pipe(Schema.maxItems(MAX_REMOTE_PEERS))
})

/** A stored message handed to a remote peer: its /ws frame, and whom it is for. */
export const DeliverMessage = Schema.Struct({
  t: Schema.Literal("deliver"),
  to_peer: PeerId,
  frame: Schema.Union(AskFrame, NotifyFrame, BroadcastFrame)
})

/** Raw bytes per file part: with base64 and JSON around it, well under a sealed message's 1 MiB. */
export const FILE_PART_BYTES = 256 * 1024

/**
 * One piece of a file a "deliver" message refers to (its `index` in the frame's attachments),
 * sent before that message. `size` is the whole file's, so the receiver refuses an
 * over-limit file at its first part; `offset` lets it notice a gap.
 */
export const PartMessage = Schema.Struct({
  t: Schema.Literal("part"),
  message_id: Schema.String.pipe(Schema.maxLength(64)),
  index: Schema.Int.pipe(Schema.between(0, 15)),
  size: Schema.Int.pipe(Schema.nonNegative()),
  name: Schema.String.pipe(Schema.maxLength(1000)),
  content_type: Schema.String.pipe(Schema.maxLength(255)),
  offset: Schema.Int.pipe(Schema.nonNegative()),
  last: Schema.Boolean,
  data: Schema.String.pipe(Schema.maxLength(Math.ceil(FILE_PART_BYTES / 3) * 4))
})
export type PartMessage = typeof PartMessage.Type

/**
 * A file a reply carries over a link: sent as "part" messages under `replyFilesId` before the
 * ack that names it. `id` is the acking daemon's own (it reads the file by it); the asker's
 * daemon stores the parts under ids of its own.
 */
export const ReplyFile = Schema.Struct({
  id: Schema.String.pipe(Schema.maxLength(64)),
  name: Schema.String.pipe(Schema.maxLength(1000)),
  size: Schema.Int.pipe(Schema.nonNegative()),
  content_type: Schema.String.pipe(Schema.maxLength(255))
})
export type ReplyFile = typeof ReplyFile.Type

/** The "message id" a reply's file parts travel under: the asker's correlation id, marked. */
export const replyFilesId = (correlationId: string) => `reply:${correlationId}`

/**
 * What the receiving daemon owes back, durably: an ask was acked, or a message was refused
 * there for good (an access rule, an unknown peer, a file over its limits), so the sender
 * fails it instead of keeping it queued.
 */
export const OutboxItem = Schema.Union(
  /** Older daemons queued receipts too; receipts now go as ReceiptMessage. */
  Schema.Struct({ k: Schema.Literal("receipt"), message_id: Schema.String, to_peer: PeerId }),
  Schema.Struct({
    k: Schema.Literal("refused"),
    message_id: Schema.String,
    to_peer: PeerId,
    reason: Schema.String.pipe(Schema.maxLength(1000))
  }),
  Schema.Struct({
    k: Schema.Literal("ack"),
    correlation_id: Schema.String,
    from_peer: PeerId,
    reply: Schema.NullOr(Schema.String),
    /** The reply's files (older items have none). */
    attachments: Schema.optional(Schema.Array(ReplyFile).pipe(Schema.maxItems(16)))
  })
)
export type OutboxItem = typeof OutboxItem.Type
export type AckOwed = Extract<OutboxItem, { k: "ack" }>

/** An ack whose files cannot be taken: its reply says why, so the asker's agent is told rather than left waiting. */
export const ackWithoutFiles = (item: AckOwed, why: string): AckOwed => ({
  k: "ack",
  correlation_id: item.correlation_id,
  from_peer: item.from_peer,
  reply: `${item.reply ?? ""}\n\n[the reply's files did not come: ${why}]`.trim()
})

export const OutMessage = Schema.Struct({ t: Schema.Literal("out"), id: Schema.Int, item: OutboxItem })
/** An outbox item was taken (or can never be): the sender drops it. */
export const DoneMessage = Schema.Struct({ t: Schema.Literal("done"), id: Schema.Int })
/**
 * A message reached its agent here. Not kept in the outbox, and not answered with "done": the
 * sender keeps the message queued and sends it again in each new session until a receipt
 * comes, and this daemon answers a message it took already with its receipt again.
 */
export const ReceiptMessage = Schema.Struct({
  t: Schema.Literal("receipt"),
  message_id: Schema.String,
  to_peer: PeerId
})
/** The sender removed the link: the receiver forgets it too. */
export const UnlinkMessage = Schema.Struct({ t: Schema.Literal("unlink") })

export const MeshMessage = Schema.Union(
  PeersMessage,
  DeliverMessage,
  PartMessage,
  OutMessage,
  ReceiptMessage,
  DoneMessage,
  UnlinkMessage
)
export type MeshMessage = typeof MeshMessage.Type
export const MeshMessageJson = parseJsonWithin(MeshMessage)

/** What each side of a join says about itself inside the pairing handshake. */
export const JoinHello = Schema.Struct({ machine: MachineName, daemon_id: Schema.String.pipe(Schema.maxLength(64)) })
export type JoinHello = typeof JoinHello.Type
export const JoinHelloJson = parseJsonWithin(JoinHello)

/** A linked daemon, as `repowire mesh list` shows it. */
export const MeshLink = Schema.Struct({
  machine: Schema.String,
  daemon_id: Schema.String,
  fingerprint: Schema.String,
  status: Schema.Literal("linked", "connecting", "away"),
  linked_at: Schema.String,
  last_seen: Schema.NullOr(Schema.String)
})
export type MeshLink = typeof MeshLink.Type
export const MeshLinks = Schema.Struct({ links: Schema.Array(MeshLink) })

export const MeshCode = Schema.Struct({ code: Schema.String, expires_at: Schema.String })
export const JoinRequest = Schema.Struct({ code: Schema.String.pipe(Schema.maxLength(1000)) })
export const Joined = Schema.Struct({ machine: Schema.String, fingerprint: Schema.String })
