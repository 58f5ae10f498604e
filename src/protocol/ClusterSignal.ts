import { Schema } from "effect"

/**
 * What PostgreSQL tells every replica at once (LISTEN/NOTIFY, sent by triggers in the relay's
 * store, so a revocation by the CLI is heard as well as one by a replica).
 */
export const CLUSTER_CHANNEL = "repowire_cluster"

/** A key was revoked: every replica ends the tunnels it authenticated. */
export const KeyRevoked = Schema.TaggedStruct("KeyRevoked", { key_id: Schema.String })

/** A tunnel's directory row was claimed by `replica_id`, or deleted (null). */
export const TunnelMoved = Schema.TaggedStruct("TunnelMoved", {
  user_id: Schema.String,
  daemon_id: Schema.String,
  replica_id: Schema.NullOr(Schema.String)
})

/** A daemon's mesh socket (MeshDirectory) was claimed by `replica_id`, or released (null). */
export const MeshMoved = Schema.TaggedStruct("MeshMoved", {
  user_id: Schema.String,
  daemon_id: Schema.String,
  replica_id: Schema.NullOr(Schema.String)
})

export const ClusterSignal = Schema.Union(KeyRevoked, TunnelMoved, MeshMoved)
export type ClusterSignal = typeof ClusterSignal.Type

export const ClusterSignalJson = Schema.parseJson(ClusterSignal)
