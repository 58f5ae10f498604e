import { Schema } from "effect"
import { AuditCheckpoint, AuditRecord } from "../../protocol/Audit.js"

// Type aliases, not interfaces: sql.insert takes them as plain records.

/** A chain's head: its last record and when it was last checkpointed. */
export type HeadRow = {
  readonly chain: string
  readonly seq: number
  readonly hash: string
  readonly checkpoint_seq: number
  readonly checkpoint_ms: number
}

export type RecordRow = {
  readonly chain: string
  readonly seq: number
  readonly at: string
  readonly kind: string
  readonly user_id: string | null
  readonly detail: string
  readonly prev_hash: string
  readonly hash: string
}

/**
 * One event as the store keeps it (migration 0008_audit_events): its record on the global chain
 * (seq, prev_hash, hash) and, with a user, its record on that user's chain (the user_ columns),
 * in one row. The view `audit_records` shows each position as a record of its own.
 */
export type EventRow = {
  readonly seq: number
  readonly at: string
  readonly kind: string
  readonly user_id: string | null
  readonly detail: string
  readonly prev_hash: string
  readonly hash: string
  readonly user_chain: string | null
  readonly user_seq: number | null
  readonly user_prev_hash: string | null
  readonly user_hash: string | null
}

export type CheckpointRow = {
  readonly chain: string
  readonly seq: number
  readonly hash: string
  readonly at: string
  readonly cut: number
  readonly signature: string
}

const decodeRecord = Schema.decodeUnknownSync(AuditRecord)
const decodeCheckpoint = Schema.decodeUnknownSync(AuditCheckpoint)

/** Rows are decoded on the way out: what is in the store is not trusted to be well-formed. */
export const recordOf = (row: RecordRow): AuditRecord =>
  decodeRecord({ ...row, seq: Number(row.seq), detail: JSON.parse(row.detail) })
export const checkpointOf = (row: CheckpointRow): AuditCheckpoint =>
  decodeCheckpoint({ ...row, seq: Number(row.seq), cut: Number(row.cut) === 1 })
