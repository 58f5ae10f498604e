import BetterSqlite from "better-sqlite3"
import { Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  AuditCheckpoint,
  type AuditEvent,
  type AuditPage,
  AuditRecord,
  type ChainHead,
  GENESIS,
  GLOBAL_CHAIN,
  userChain
} from "../../protocol/Audit.js"
import type { AuditSigner } from "./AuditKey.js"
import { canonicalize } from "./Canonical.js"
import { linkText } from "./Chain.js"

export const AUDIT_DB_FILE = "audit.db"

/** A queued event with the time it happened (records are written later, in batches). */
export interface StampedEvent extends AuditEvent {
  readonly at: string
}

export interface CheckpointPolicy {
  /** A chain gets a checkpoint after this many records… */
  readonly every: number
  /** …or when this much time passed since its last one (checked by the writer's tick). */
  readonly intervalMs: number
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_records (
    chain TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, user_id TEXT,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (chain, seq)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS audit_chains (
    chain TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL,
    checkpoint_seq INTEGER NOT NULL, checkpoint_ms INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS audit_checkpoints (
    chain TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL, cut INTEGER NOT NULL,
    signature TEXT NOT NULL, PRIMARY KEY (chain, seq, cut))`
]

interface HeadRow {
  chain: string
  seq: number
  hash: string
  checkpoint_seq: number
  checkpoint_ms: number
}

interface RecordRow {
  chain: string
  seq: number
  at: string
  kind: string
  user_id: string | null
  detail: string
  prev_hash: string
  hash: string
}

interface CheckpointRow {
  chain: string
  seq: number
  hash: string
  at: string
  cut: number
  signature: string
}

const decodeRecord = Schema.decodeUnknownSync(AuditRecord)
const decodeCheckpoint = Schema.decodeUnknownSync(AuditCheckpoint)

/** Rows are decoded on the way out: what is on disk is not trusted to be well-formed. */
export const recordOf = (row: RecordRow): AuditRecord => decodeRecord({ ...row, detail: JSON.parse(row.detail) })
export const checkpointOf = (row: CheckpointRow): AuditCheckpoint => decodeCheckpoint({ ...row, cut: row.cut === 1 })

export const openAuditDb = (dir: string, options: { readonly readonly?: boolean } = {}) => {
  const file = path.join(dir, AUDIT_DB_FILE)
  if (options.readonly !== true) {
    fs.closeSync(fs.openSync(file, "a", 0o600))
    fs.chmodSync(file, 0o600)
  }
  const db = new BetterSqlite(file, { readonly: options.readonly === true, fileMustExist: options.readonly === true })
  db.pragma("busy_timeout = 5000")
  if (options.readonly !== true) {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    for (const statement of SCHEMA) db.exec(statement)
  }
  return db
}

/** Appends, checkpoints, retention and reads on the audit SQLite file. Every write is one transaction. */
export class AuditStore {
  private readonly getHead
  private readonly putHead
  private readonly insertRecord
  private readonly insertCheckpoint
  private readonly dueHeads
  private readonly recordsAfter
  private readonly checkpointsIn
  private readonly lastCut
  private readonly writeBatch

  constructor(
    readonly db: BetterSqlite.Database,
    private readonly signer: AuditSigner,
    readonly policy: CheckpointPolicy
  ) {
    this.getHead = db.prepare<[string], HeadRow>("SELECT * FROM audit_chains WHERE chain = ?")
    this.putHead = db.prepare<[HeadRow]>(
      `INSERT INTO audit_chains (chain, seq, hash, checkpoint_seq, checkpoint_ms)
       VALUES (@chain, @seq, @hash, @checkpoint_seq, @checkpoint_ms)
       ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
         checkpoint_seq = excluded.checkpoint_seq, checkpoint_ms = excluded.checkpoint_ms`
    )
    this.insertRecord = db.prepare<[string, number, string, string, string | null, string, string, string]>(
      `INSERT INTO audit_records (chain, seq, at, kind, user_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
    )
    this.insertCheckpoint = db.prepare<[CheckpointRow]>(
      `INSERT OR REPLACE INTO audit_checkpoints (chain, seq, hash, at, cut, signature)
       VALUES (@chain, @seq, @hash, @at, @cut, @signature)`
    )
    this.dueHeads = db.prepare<[number], HeadRow>(
      "SELECT * FROM audit_chains WHERE seq > checkpoint_seq AND checkpoint_ms <= ?"
    )
    this.recordsAfter = db.prepare<[string, number, number], RecordRow>(
      "SELECT * FROM audit_records WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?"
    )
    this.checkpointsIn = db.prepare<[string, number, number], CheckpointRow>(
      "SELECT * FROM audit_checkpoints WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq, cut"
    )
    this.lastCut = db.prepare<[string], CheckpointRow>(
      "SELECT * FROM audit_checkpoints WHERE chain = ? AND cut = 1 ORDER BY seq DESC LIMIT 1"
    )
    this.writeBatch = db.transaction((events: ReadonlyArray<StampedEvent>) => {
      const heads = new Map<string, HeadRow>()
      const head = (chain: string): HeadRow =>
        heads.get(chain) ?? this.getHead.get(chain) ??
          { chain, seq: 0, hash: GENESIS, checkpoint_seq: 0, checkpoint_ms: Date.now() }
      for (const event of events) {
        const chains = event.user_id === null ? [GLOBAL_CHAIN] : [GLOBAL_CHAIN, userChain(event.user_id)]
        const detail = canonicalize(event.detail)
        for (const chain of chains) {
          const h = head(chain)
          const r = linkText(h, { chain, at: event.at, kind: event.kind, user_id: event.user_id }, detail)
          this.insertRecord.run(chain, r.seq, r.at, r.kind, r.user_id, detail, r.prev_hash, r.hash)
          const next = { ...h, seq: r.seq, hash: r.hash }
          heads.set(chain, r.seq - h.checkpoint_seq >= policy.every ? this.checkpoint(next, false) : next)
        }
      }
      heads.forEach((h) => this.putHead.run(h))
    })
  }

  private checkpoint(h: HeadRow, cut: boolean): HeadRow {
    const signed = this.signer.sign({ chain: h.chain, seq: h.seq, hash: h.hash, at: new Date().toISOString(), cut })
    this.insertCheckpoint.run({ ...signed, cut: cut ? 1 : 0 })
    return { ...h, checkpoint_seq: h.seq, checkpoint_ms: Date.now() }
  }

  /** Appends a batch to the global chain and each user's chain, checkpointing every `every` records. */
  append(events: ReadonlyArray<StampedEvent>): void {
    if (events.length > 0) this.writeBatch.immediate(events)
  }

  /** Checkpoints every chain with records after its last checkpoint older than `olderThanMs` (0: all). */
  checkpointDue(olderThanMs: number): number {
    return this.db.transaction(() => {
      const due = this.dueHeads.all(Date.now() - olderThanMs)
      due.forEach((h) => this.putHead.run(this.checkpoint(h, false)))
      return due.length
    }).immediate()
  }

  /**
   * Drops records older than `before` (ISO time) only together with a signed `cut` checkpoint
   * at the last one dropped, so a verifier can tell retention from deletion.
   */
  retain(before: string): number {
    return this.db.transaction(() => {
      const cuts = this.db.prepare<[string], { chain: string; seq: number }>(
        "SELECT chain, MAX(seq) AS seq FROM audit_records WHERE at < ? GROUP BY chain"
      ).all(before)
      let dropped = 0
      for (const { chain, seq } of cuts) {
        const at = this.db.prepare<[string, number], { hash: string }>(
          "SELECT hash FROM audit_records WHERE chain = ? AND seq = ?"
        ).get(chain, seq)
        if (at === undefined) continue
        const head = this.getHead.get(chain)!
        this.checkpoint({ ...head, seq, hash: at.hash }, true)
        dropped += this.db.prepare("DELETE FROM audit_records WHERE chain = ? AND seq <= ?").run(chain, seq).changes
        this.db.prepare("DELETE FROM audit_checkpoints WHERE chain = ? AND seq < ?").run(chain, seq)
      }
      return dropped
    }).immediate()
  }

  /** How many chains have records after their last checkpoint. */
  unsigned(): number {
    return this.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM audit_chains WHERE seq > checkpoint_seq")
      .get()!.n
  }

  head(chain: string): ChainHead {
    const h = this.getHead.get(chain)
    return h === undefined ? { seq: 0, hash: GENESIS } : { seq: h.seq, hash: h.hash }
  }

  /** A chain from `since` (exclusive), at most `limit` records, with the checkpoints they need. */
  page(userId: string, since: number, limit: number): AuditPage {
    const chain = userChain(userId)
    const head = this.head(chain)
    const records = this.recordsAfter.all(chain, since, limit).map(recordOf)
    const upTo = records.length === limit ? records[records.length - 1]!.seq : head.seq
    const checkpoints = this.checkpointsIn.all(chain, since, upTo).map(checkpointOf)
    const cut = this.lastCut.get(chain)
    if (cut !== undefined && !checkpoints.some((c) => c.cut && c.seq === cut.seq)) {
      checkpoints.unshift(checkpointOf(cut))
    }
    return {
      user_id: userId,
      chain,
      head,
      records,
      checkpoints,
      next_since: upTo < head.seq ? upTo : null,
      public_key: this.signer.publicKey
    }
  }
}

/** Everything in the store, chain by chain, for the operator's verifier. */
export const readChains = (db: BetterSqlite.Database, only?: string) => {
  const names = only === undefined
    ? db.prepare<[], { chain: string }>(
      "SELECT chain FROM audit_chains UNION SELECT chain FROM audit_records UNION SELECT chain FROM audit_checkpoints ORDER BY chain"
    ).all().map((r) => r.chain)
    : [only]
  return names.map((chain) => {
    const head = db.prepare<[string], HeadRow>("SELECT * FROM audit_chains WHERE chain = ?").get(chain)
    return {
      chain,
      head: head === undefined ? undefined : { seq: head.seq, hash: head.hash },
      records: db.prepare<[string], RecordRow>("SELECT * FROM audit_records WHERE chain = ? ORDER BY seq").all(chain)
        .map(recordOf),
      checkpoints: db.prepare<[string], CheckpointRow>(
        "SELECT * FROM audit_checkpoints WHERE chain = ? ORDER BY seq, cut"
      ).all(chain).map(checkpointOf)
    }
  })
}
