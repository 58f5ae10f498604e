import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import {
  type AuditEvent,
  type AuditPage,
  type ChainHead,
  GENESIS,
  GLOBAL_CHAIN,
  userChain
} from "../../protocol/Audit.js"
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

/** Rows per INSERT: 11 columns each stays far below SQLite's and PostgreSQL's bound-parameter limits. */
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
 * The audit chains in the relay's store (SQLite or PostgreSQL, migrations 0004_audit and
 * 0008_audit_events). Several writers (replicas, the CLI beside a relay) keep each chain linear: a
 * batch locks the heads of the chains it extends (FOR UPDATE on PostgreSQL; SQLite has one writer
 * at a time) before it reads them, and an event's global seq is its row's primary key and its
 * user's (chain, seq) a unique index, so a stale head can never fork one.
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
        const { checkpoints, rows } = linkBatch(events, heads, policy.every, signer)
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          yield* sql`INSERT INTO audit_events ${sql.insert(rows.slice(i, i + ROWS_PER_INSERT))}`
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

    /**
     * Cuts by the global chain: every batch extends it and its users' chains together, in order,
     * heads locked, so an event's user seq grows with its global seq, and dropping the events up to
     * the newest one older than `before` drops a prefix of every chain. Each chain's cut is at the
     * newest of its positions dropped. Records from before 0008_audit_events (all older than any
     * event) are cut chain by chain, as they were written.
     */
    const retain = (before: string) =>
      Effect.gen(function*() {
        const cuts = new Map<string, { seq: number; hash: string }>()
        const legacy = yield* sql<{ chain: string; seq: number; hash: string }>`
          SELECT r.chain, r.seq, r.hash FROM audit_records_legacy r
          JOIN (SELECT chain, MAX(seq) AS seq FROM audit_records_legacy WHERE at < ${before} GROUP BY chain) last
            ON r.chain = last.chain AND r.seq = last.seq`
        for (const { chain, hash, seq } of legacy) cuts.set(chain, { seq: Number(seq), hash })
        const [newest] = yield* sql<{ seq: number | null }>`SELECT MAX(seq) AS seq FROM audit_events
          WHERE at < ${before}`
        const upTo = newest?.seq === null || newest?.seq === undefined ? undefined : Number(newest.seq)
        if (upTo !== undefined) {
          const positions = yield* sql<{ chain: string; seq: number; hash: string }>`
            SELECT ${sql.literal(`'${GLOBAL_CHAIN}'`)} AS chain, seq, hash FROM audit_events WHERE seq = ${upTo}
            UNION ALL
            SELECT e.user_chain AS chain, e.user_seq AS seq, e.user_hash AS hash FROM audit_events e
            JOIN (SELECT user_chain, MAX(user_seq) AS user_seq FROM audit_events
              WHERE seq <= ${upTo} AND user_chain IS NOT NULL GROUP BY user_chain) last
              ON e.user_chain = last.user_chain AND e.user_seq = last.user_seq`
          // An event's positions come after every record of 0004 on the same chain.
          for (const { chain, hash, seq } of positions) cuts.set(chain, { seq: Number(seq), hash })
        }
        if (cuts.size === 0) return 0
        const heads = yield* sql<HeadRow>`SELECT chain, seq, hash, checkpoint_seq, checkpoint_ms FROM audit_chains
          WHERE ${sql.in("chain", [...cuts.keys()])} ORDER BY chain ${forUpdate}`
        let dropped = 0
        for (const head of heads) {
          const { hash, seq } = cuts.get(head.chain)!
          const checkpoints: Array<CheckpointRow> = []
          sign({ ...head, seq, hash }, true, checkpoints)
          yield* putCheckpoints(checkpoints)
          const gone = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM audit_records_legacy
            WHERE chain = ${head.chain} AND seq <= ${seq}`
          dropped += Number(gone[0]!.n)
          yield* sql`DELETE FROM audit_records_legacy WHERE chain = ${head.chain} AND seq <= ${seq}`
          yield* sql`DELETE FROM audit_checkpoints WHERE chain = ${head.chain} AND seq < ${seq}`
        }
        if (upTo !== undefined) {
          const [gone] = yield* sql<{ events: number; users: number }>`
            SELECT COUNT(*) AS events, COUNT(user_chain) AS users FROM audit_events WHERE seq <= ${upTo}`
          dropped += Number(gone!.events) + Number(gone!.users)
          yield* sql`DELETE FROM audit_events WHERE seq <= ${upTo}`
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
        const records = (yield* chainRecords(sql, chain, since, limit)).map(recordOf)
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

/**
 * A chain's records after `since`, in order, at most `limit`: those of 0004 (all before the
 * others on their chain), then the events' positions on it. One statement, so one snapshot: a
 * retention between two reads could otherwise leave a gap a verifier would call tampering. Each
 * arm reads the tables in key order under its own LIMIT, not through the view `audit_records`:
 * SQLite pushes the WHERE into each arm of the view's UNION ALL but then sorts everything the
 * arms found before applying the LIMIT; here the outer sort sees at most two pages.
 */
const chainRecords = (sql: SqlClient.SqlClient, chain: string, since?: number, limit?: number) => {
  // The operator's verifier reads every record, whatever its seq (since undefined).
  const after = (column: string) => since === undefined ? sql.literal("") : sql`AND ${sql.literal(column)} > ${since}`
  const upTo = limit === undefined ? sql.literal("") : sql`LIMIT ${limit}`
  const legacy = sql`SELECT chain, seq, at, kind, user_id, detail, prev_hash, hash
    FROM audit_records_legacy WHERE chain = ${chain} ${after("seq")} ORDER BY seq ${upTo}`
  const events = chain === GLOBAL_CHAIN
    ? sql`SELECT ${sql.literal(`'${GLOBAL_CHAIN}'`)} AS chain, seq, at, kind, user_id, detail, prev_hash, hash
        FROM audit_events WHERE 1 = 1 ${after("seq")} ORDER BY seq ${upTo}`
    : sql`SELECT user_chain AS chain, user_seq AS seq, at, kind, user_id, detail,
        user_prev_hash AS prev_hash, user_hash AS hash
        FROM audit_events WHERE user_chain = ${chain} ${after("user_seq")} ORDER BY user_seq ${upTo}`
  return sql<RecordRow>`SELECT * FROM (${legacy}) old_records UNION ALL SELECT * FROM (${events}) new_records
    ORDER BY seq ${upTo}`
}

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
        const records = yield* chainRecords(sql, chain)
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
