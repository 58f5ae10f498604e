import BetterSqlite from "better-sqlite3"
import { GENESIS } from "../../protocol/Audit.js"
import type { AuditSigner } from "./AuditKey.js"
import type { EventRow, HeadRow } from "./AuditRows.js"
import type { StampedEvent } from "./AuditStore.js"
import { chainsOf, linkBatch } from "./Batch.js"

/** Rows per multi-row INSERT: 11 values each, far below SQLite's bound-parameter limit. */
const ROWS = 32

const valuesOf = (r: EventRow, out: Array<unknown>) => {
  out.push(
    r.seq,
    r.at,
    r.kind,
    r.user_id,
    r.detail,
    r.prev_hash,
    r.hash,
    r.user_chain,
    r.user_seq,
    r.user_prev_hash,
    r.user_hash
  )
  return out
}

/**
 * The audit worker's append on SQLite: the same batch as AuditStore.append (same heads, links and
 * checkpoints: Batch.linkBatch), through prepared statements on its own connection (events 32
 * rows to a statement, one row per event with both of its chain positions) in one `BEGIN IMMEDIATE` transaction. Through @effect/sql each batch compiled a
 * multi-row INSERT of its own size; this costs a few µs a row. `synchronous = NORMAL` (WAL):
 * a commit does not wait for the disk, so a power cut of the machine can lose the last commits;
 * a crash of the relay process cannot.
 */
export const sqliteAppender = (file: string, signer: AuditSigner, every: number) => {
  const db = new BetterSqlite(file, { fileMustExist: true, timeout: 5000 })
  db.pragma("synchronous = NORMAL")
  const newHead = db.prepare<[string, number]>(
    `INSERT INTO audit_chains (chain, seq, hash, checkpoint_seq, checkpoint_ms) VALUES (?, 0, '${GENESIS}', 0, ?)
      ON CONFLICT (chain) DO NOTHING`
  )
  const readHead = db.prepare<[string], HeadRow>(
    "SELECT chain, seq, hash, checkpoint_seq, checkpoint_ms FROM audit_chains WHERE chain = ?"
  )
  // OR ROLLBACK: a duplicate seq or (user_chain, user_seq) (a stale head: never expected) ends the whole
  // transaction, as the thrown error would anyway, so SQLite keeps no statement journal for the
  // multi-row INSERT (under ABORT it copies every page the statement touches, in case it must undo
  // that statement alone: a tenth of the worker's time, with its spills to a temporary file).
  const insertRows = (rows: number) =>
    db.prepare<Array<unknown>>(
      `INSERT OR ROLLBACK INTO audit_events
        (seq, at, kind, user_id, detail, prev_hash, hash, user_chain, user_seq, user_prev_hash, user_hash)
        VALUES ${Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`
    )
  // Rows go in ROWS at a time (one statement, positional values), the rest one by one.
  const putRecords = insertRows(ROWS)
  const putRecord = insertRows(1)
  const values: Array<unknown> = []
  const put = (records: ReadonlyArray<EventRow>) => {
    let i = 0
    for (; i + ROWS <= records.length; i += ROWS) {
      values.length = 0
      for (let j = i; j < i + ROWS; j++) valuesOf(records[j]!, values)
      putRecords.run(values)
    }
    for (; i < records.length; i++) putRecord.run(valuesOf(records[i]!, (values.length = 0, values)))
  }
  const putCheckpoint = db.prepare(
    `INSERT INTO audit_checkpoints (chain, seq, hash, at, cut, signature) VALUES (@chain, @seq, @hash, @at, @cut, @signature)
      ON CONFLICT (chain, seq, cut) DO UPDATE SET hash = excluded.hash, at = excluded.at, signature = excluded.signature`
  )
  const putHead = db.prepare(
    `UPDATE audit_chains SET seq = @seq, hash = @hash, checkpoint_seq = @checkpoint_seq, checkpoint_ms = @checkpoint_ms
      WHERE chain = @chain`
  )
  const append = db.transaction((events: ReadonlyArray<StampedEvent>) => {
    const now = Date.now()
    const heads = new Map<string, HeadRow>()
    for (const chain of chainsOf(events)) {
      newHead.run(chain, now)
      heads.set(chain, readHead.get(chain)!)
    }
    const { checkpoints, rows } = linkBatch(events, heads, every, signer)
    put(rows)
    for (const c of checkpoints) putCheckpoint.run(c)
    for (const h of heads.values()) putHead.run(h)
  })
  return {
    append: (events: ReadonlyArray<StampedEvent>) => append.immediate(events),
    close: () => db.close()
  }
}
