import { Schema } from "effect"

/** What the relay's audit log records (SPEC §11). Never bodies, cookies or keys. */
export const AuditKind = Schema.Literal(
  "auth_ok",
  "auth_failed",
  "session_created",
  "session_ended",
  "key_minted",
  "key_revoked",
  "key_rotated",
  "registration",
  "tunnel_connected",
  "tunnel_closed",
  "device_paired",
  "request",
  /** The relay's audit queue was full: how many events it could not keep, and when. */
  "audit_dropped"
)
export type AuditKind = typeof AuditKind.Type

/** Detail values are flat scalars: ids, addresses, methods, paths, counts. */
export const AuditValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)
export type AuditValue = typeof AuditValue.Type
export const AuditDetail = Schema.Record({ key: Schema.String, value: AuditValue })
export type AuditDetail = typeof AuditDetail.Type

/** What a call site hands the log; the writer adds chain, seq and hashes. */
export interface AuditEvent {
  readonly kind: AuditKind
  readonly user_id: string | null
  readonly detail: AuditDetail
}

export const Hash = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))
export const Seq = Schema.Int.pipe(Schema.nonNegative())

/** The chain every event goes to, and each user's own. */
export const GLOBAL_CHAIN = "global"
export const userChain = (userId: string) => `user:${userId}`

/** The hash before a chain's first record. */
export const GENESIS = "0".repeat(64)

/** The part of a record its hash covers (with `prev_hash` before it). */
export const AuditBody = Schema.Struct({
  chain: Schema.String,
  seq: Seq,
  at: Schema.String,
  kind: AuditKind,
  user_id: Schema.NullOr(Schema.String),
  detail: AuditDetail
})
export type AuditBody = typeof AuditBody.Type

export const AuditRecord = Schema.Struct({
  ...AuditBody.fields,
  prev_hash: Hash,
  hash: Hash
})
export type AuditRecord = typeof AuditRecord.Type

/** The part of a checkpoint its signature covers. `cut`: retention dropped every record up to `seq`. */
export const CheckpointBody = Schema.Struct({
  chain: Schema.String,
  seq: Seq,
  hash: Hash,
  at: Schema.String,
  cut: Schema.Boolean
})
export type CheckpointBody = typeof CheckpointBody.Type

export const AuditCheckpoint = Schema.Struct({
  ...CheckpointBody.fields,
  /** Ed25519 over the checkpoint body's canonical JSON, base64url. */
  signature: Schema.String
})
export type AuditCheckpoint = typeof AuditCheckpoint.Type

export const ChainHead = Schema.Struct({ seq: Seq, hash: Hash })
export type ChainHead = typeof ChainHead.Type

/** `GET /_relay/audit/key`: the relay's audit public key (raw Ed25519, base64url). */
export const AuditKeyInfo = Schema.Struct({
  algorithm: Schema.Literal("Ed25519"),
  public_key: Schema.String
})
export type AuditKeyInfo = typeof AuditKeyInfo.Type

/**
 * `GET /_relay/audit?since=SEQ&limit=N`: the caller's chain, records with seq > since, the
 * checkpoints up to the last record returned, and the newest retention cut.
 */
export const AuditPage = Schema.Struct({
  user_id: Schema.String,
  chain: Schema.String,
  head: ChainHead,
  records: Schema.Array(AuditRecord),
  checkpoints: Schema.Array(AuditCheckpoint),
  /** Pass as `since` for the next page; null when this page reached the head. */
  next_since: Schema.NullOr(Seq),
  public_key: Schema.String
})
export type AuditPage = typeof AuditPage.Type

export const AuditQuery = Schema.Struct({
  since: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()), { default: () => 0 }),
  limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)), {
    default: () => 1000
  })
})

/** How a chain failed verification, named by the first bad seq. */
export const AuditProblem = Schema.Literal(
  "edited",
  "deleted",
  "reordered",
  "truncated",
  "forged_checkpoint",
  "rewritten",
  "not_extending",
  "key_changed"
)
export type AuditProblem = typeof AuditProblem.Type

export class AuditBroken extends Schema.TaggedError<AuditBroken>()("AuditBroken", {
  chain: Schema.String,
  seq: Seq,
  problem: AuditProblem,
  message: Schema.String
}) {}

/** What a verified chain proved: how far, and the newest checkpoint that matched its records. */
export const AuditVerified = Schema.Struct({
  chain: Schema.String,
  records: Schema.Int,
  first_seq: Schema.NullOr(Seq),
  last_seq: Schema.NullOr(Seq),
  checkpoint: Schema.NullOr(AuditCheckpoint)
})
export type AuditVerified = typeof AuditVerified.Type
