import { Schema, Struct } from "effect"
import { Peer, type PeerStatus } from "../protocol/Peer.js"

/** A `peers` row as SQLite returns it, decoded before use. */
export const PeerRow = Schema.Struct({
  ...Struct.omit(Peer.fields, "peer_id", "last_seen", "metadata"),
  peer_id: Schema.String,
  turn_state: Schema.NullOr(Schema.Literal("working", "awaiting_input")),
  base_name: Schema.String,
  metadata: Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  token_digest: Schema.String,
  last_seen: Schema.Number,
  created_at: Schema.Number,
  /** The linked machine a remote peer lives on; null for this daemon's own peers. */
  link: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
export type PeerRow = typeof PeerRow.Type

export const toPeer = (row: PeerRow, status: PeerStatus): Peer => ({
  peer_id: row.peer_id as Peer["peer_id"],
  display_name: row.display_name,
  path: row.path,
  machine: row.machine,
  backend: row.backend,
  circle: row.circle,
  role: row.role,
  status,
  description: row.description,
  last_seen: new Date(row.last_seen).toISOString(),
  metadata: row.metadata,
  turn_state: status === "offline" ? null : row.turn_state
})
