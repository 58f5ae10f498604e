import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { type AuditEvent, type AuditPage, type ChainHead, GENESIS, userChain } from "../../protocol/Audit.js"
import type { AuditSigner } from "./AuditKey.js"
import { checkpointOf, type CheckpointRow, type HeadRow, recordOf, type RecordRow } from "./AuditRows.js"
import { chainsOf, linkBatch, signHead } from "./Batch.js"

/** A queued event with the time it happened, epoch ms (records are written later, in batches). */
export interface StampedEvent extends AuditEvent {
  readonly ms: number
}

export interface CheckpointPolicy {
  /** A chain gets a checkpoint after this many records… */
  readonly every: number
  /** …or when this much time passed since its last one (checked by the writer's tick). */
  readonly intervalMs: number
}

/** Rows per INSERT: 8 columns each stays far below SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_INSERT = 500

export interface AuditStore {
  /** Appends a batch to the global chain and each user's chain in one transaction, checkpointing every `every`. */
  readonly append: (events: ReadonlyArray<StampedEvent>) => Effect.Effect<void, SqlError.SqlError>
  /** Checkpoints every chain with records after its last checkpoint older than `olderThanMs` (0: all). */
  readonly checkpointDue: (olderThanMs: number) => Effect.Effect<number, SqlError.SqlError>
  /**
   * Drops records older than `before` (ISO time) only together with a signed `cut` checkpoint
   * at the last one dropped, so a verifier can tell retention from deletion.
   */
  readonly retain: (before: string) => Effect.Effect<number, SqlError.SqlError>
  /** How many chains have records after their last checkpoint. */
  readonly unsigned: Effect.Effect<number, SqlError.SqlError>
  readonly head: (chain: string) => Effect.Effect<ChainHead, SqlError.SqlError>
  /** A user's chain from `since` (exclusive), at most `limit` records, with the checkpoints they need. */
  readonly page: (userId: string, since: number, limit: number) => Effect.Effect<AuditPage, SqlError.SqlError>
}

/**
 * The audit chains in the relay's store (SQLite or PostgreSQL, migration 0004_audit). Several
 * writers (replicas, the CLI beside a relay) keep each chain linear: a batch locks the heads of
 * the chains it extends (FOR UPDATE on PostgreSQL; SQLite has one writer at a time) before it
 * reads them, and (chain, seq) is the records' primary key, so a stale head can never fork one.
 */
export const makeAuditStore = (signer: AuditSigner, policy: CheckpointPolicy) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })

    const putHeads = (heads: ReadonlyArray<HeadRow>) =>
      heads.length === 0 ? Effect.void : sql`INSERT INTO audit_chains ${sql.insert(heads)}
        ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
          checkpoint_seq = excluded.checkpoint_seq, checkpoint_ms = excluded.checkpoint_ms`

    const putCheckpoints = (rows: ReadonlyArray<CheckpointRow>) =>
      rows.length === 0 ? Effect.void : sql`INSERT INTO audit_checkpoints ${sql.insert(rows)}
        ON CONFLICT (chain, seq, cut) DO UPDATE SET hash = excluded.hash, at = excluded.at,
          signature = excluded.signature`

    const sign = (h: HeadRow, cut: boolean, out: Array<CheckpointRow>) => signHead(signer, h, cut, out)

    /** The current heads of `chains`, created at genesis when new, locked until the transaction ends. */
    const lockHeads = (chains: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const now = Date.now()
        yield* sql`INSERT INTO audit_chains ${
          sql.insert(chains.map((chain) => ({ chain, seq: 0, hash: GENESIS, checkpoint_seq: 0, checkpoint_ms: now })))
        } ON CONFLICT (chain) DO NOTHING`
        const rows = yield* sql<HeadRow>`SELECT chain, seq, hash, checkpoint_seq, checkpoint_ms FROM audit_chains
          WHERE ${sql.in("chain", chains)} ORDER BY chain ${forUpdate}`
        return new Map(rows.map((h) => [h.chain, h]))
      })

    const append = (events: ReadonlyArray<StampedEvent>) =>
      Effect.gen(function*() {
        const heads = yield* lockHeads(chainsOf(events))
        const { checkpoints, records } = linkBatch(events, heads, policy.every, signer)
        for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
          yield* sql`INSERT INTO audit_records ${sql.insert(records.slice(i, i + ROWS_PER_INSERT))}`
        }
        yield* putCheckpoints(checkpoints)
        yield* putHeads([...heads.values()])
      }).pipe(sql.withTransaction)

    const checkpointDue = (olderThanMs: number) =>
      Effect.gen(function*() {
        const due = yield* sql<HeadRow>`SELECT chain, seq, hash, checkpoint_seq, checkpoint_ms FROM audit_chains
          WHERE seq > checkpoint_seq AND checkpoint_ms <= ${Date.now() - olderThanMs} ORDER BY chain ${forUpdate}`
        const checkpoints: Array<CheckpointRow> = []
        const heads = due.map((h) => sign(h, false, checkpoints))
        yield* putCheckpoints(checkpoints)
        yield* putHeads(heads)
        return due.length
      }).pipe(sql.withTransaction)

    const retain = (before: string) =>
      Effect.gen(function*() {
        const cuts = yield* sql<{ chain: string; seq: number; hash: string }>`
          SELECT r.chain, r.seq, r.hash FROM audit_records r
          JOIN (SELECT chain, MAX(seq) AS seq FROM audit_records WHERE at < ${before} GROUP BY chain) last
            ON r.chain = last.chain AND r.seq = last.seq`
        let dropped = 0
        for (const { chain, hash, seq } of cuts) {
          const [head] = yield* sql<HeadRow>`SELECT chain, seq, hash, checkpoint_seq, checkpoint_ms FROM audit_chains
            WHERE chain = ${chain} ${forUpdate}`
          if (head === undefined) continue
          const checkpoints: Array<CheckpointRow> = []
          sign({ ...head, seq, hash }, true, checkpoints)
          yield* putCheckpoints(checkpoints)
          const gone = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM audit_records
            WHERE chain = ${chain} AND seq <= ${seq}`
          dropped += Number(gone[0]!.n)
          yield* sql`DELETE FROM audit_records WHERE chain = ${chain} AND seq <= ${seq}`
          yield* sql`DELETE FROM audit_checkpoints WHERE chain = ${chain} AND seq < ${seq}`
        }
        return dropped
      }).pipe(sql.withTransaction)

    const head = (chain: string) =>
      Effect.map(
        sql<{ seq: number; hash: string }>`SELECT seq, hash FROM audit_chains WHERE chain = ${chain}`,
        ([h]) => (h === undefined ? { seq: 0, hash: GENESIS } : { seq: h.seq, hash: h.hash })
      )

    const page = (userId: string, since: number, limit: number) =>
      Effect.gen(function*() {
        const chain = userChain(userId)
        const top = yield* head(chain)
        const records = (yield* sql<RecordRow>`SELECT * FROM audit_records WHERE chain = ${chain} AND seq > ${since}
          ORDER BY seq LIMIT ${limit}`).map(recordOf)
        const upTo = records.length === limit ? records[records.length - 1]!.seq : top.seq
        const checkpoints = (yield* sql<CheckpointRow>`SELECT * FROM audit_checkpoints
          WHERE chain = ${chain} AND seq > ${since} AND seq <= ${upTo} ORDER BY seq, cut`).map(checkpointOf)
        const [cut] = yield* sql<CheckpointRow>`SELECT * FROM audit_checkpoints WHERE chain = ${chain} AND cut = 1
          ORDER BY seq DESC LIMIT 1`
        if (cut !== undefined && !checkpoints.some((c) => c.cut && c.seq === cut.seq)) {
          checkpoints.unshift(checkpointOf(cut))
        }
        return {
          user_id: userId,
          chain,
          head: top,
          records,
          checkpoints,
          next_since: upTo < top.seq ? upTo : null,
          public_key: signer.publicKey
        } satisfies AuditPage
      })

    const unsigned = Effect.map(
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM audit_chains WHERE seq > checkpoint_seq`,
      ([row]) => Number(row!.n)
    )

    return { append, checkpointDue, retain, unsigned, head, page } satisfies AuditStore
  })

/** Everything in the store, chain by chain (or one chain), for the operator's verifier. */
export const readChains = (only?: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const names = only === undefined
      ? (yield* sql<{ chain: string }>`SELECT chain FROM audit_chains UNION SELECT chain FROM audit_records
          UNION SELECT chain FROM audit_checkpoints ORDER BY chain`).map((r) => r.chain)
      : [only]
    return yield* Effect.forEach(names, (chain) =>
      Effect.gen(function*() {
        const [head] = yield* sql<HeadRow>`SELECT * FROM audit_chains WHERE chain = ${chain}`
        const records = yield* sql<RecordRow>`SELECT * FROM audit_records WHERE chain = ${chain} ORDER BY seq`
        const checkpoints = yield* sql<CheckpointRow>`SELECT * FROM audit_checkpoints WHERE chain = ${chain}
          ORDER BY seq, cut`
        return {
          chain,
          head: head === undefined ? undefined : { seq: head.seq, hash: head.hash },
          records: records.map(recordOf),
          checkpoints: checkpoints.map(checkpointOf)
        }
      }))
  })
