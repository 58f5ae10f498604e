import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { type AuditSigner, loadSigner } from "../../../src/layers/audit/AuditKey.js"
import { checkpointOf, type HeadRow, recordOf, type RecordRow } from "../../../src/layers/audit/AuditRows.js"
import { makeAuditStore, readChains, type StampedEvent } from "../../../src/layers/audit/AuditStore.js"
import { chainsOf, linkBatch, recordsOf } from "../../../src/layers/audit/Batch.js"
import { sqliteAppender } from "../../../src/layers/audit/SqliteAppend.js"
import { verifyChain } from "../../../src/layers/audit/Verify.js"
import { relayMigrations } from "../../../src/layers/RelayStoreLive.js"
import { GENESIS } from "../../../src/protocol/Audit.js"
import { storeAt, storeEngines, type StoreLocation } from "../../support/StoreEngines.js"
import { tempDir } from "../harness.js"

/**
 * Migration 0008_audit_events (one row per event) on a store the 0004 layout wrote (one row per
 * chain position), and retention cutting by the global chain, on SQLite and PostgreSQL.
 */

const engines = storeEngines("rw-audit-migration-")

/** The store as it was before 0008: every migration up to 0007. */
const oldStoreAt = (at: StoreLocation) => {
  const loader = Effect.map(relayMigrations, (all) => all.filter(([id]) => id < 8))
  return at.databaseUrl === undefined
    ? SqliteMigrator.layer({ loader }).pipe(
      Layer.provideMerge(SqliteClient.layer({ filename: at.file })),
      Layer.provide(NodeContext.layer)
    )
    : Layer.effectDiscard(PgMigrator.run({ loader })).pipe(
      Layer.provideMerge(PgClient.layer({ url: at.databaseUrl })),
      Layer.provide(NodeContext.layer)
    )
}

/** What the writer did before 0008: a batch's records, one row per chain position, in `audit_records`. */
const appendOld = (signer: AuditSigner, events: ReadonlyArray<StampedEvent>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const chains = chainsOf(events)
    yield* sql`INSERT INTO audit_chains ${
      sql.insert(chains.map((chain) => ({ chain, seq: 0, hash: GENESIS, checkpoint_seq: 0, checkpoint_ms: 0 })))
    } ON CONFLICT (chain) DO NOTHING`
    const heads = yield* sql<HeadRow>`SELECT * FROM audit_chains WHERE ${sql.in("chain", chains)}`
    const linked = linkBatch(events, new Map(heads.map((h) => [h.chain, { ...h, seq: Number(h.seq) }])), 4, signer)
    yield* sql`INSERT INTO audit_records ${sql.insert(recordsOf(linked.rows))}`
    yield* sql`INSERT INTO audit_checkpoints ${sql.insert(linked.checkpoints)}`
    for (const h of heads) {
      const last = recordsOf(linked.rows).filter((r) => r.chain === h.chain).at(-1)!
      yield* sql`UPDATE audit_chains SET seq = ${last.seq}, hash = ${last.hash} WHERE chain = ${h.chain}`
    }
  })

const at0 = Date.parse("2026-12-01T00:00:00.000Z")
const event = (i: number, user: string | null, ms = at0 + i): StampedEvent => ({
  ms,
  kind: "request",
  user_id: user,
  detail: { i }
})
const iso = (ms: number) => new Date(ms).toISOString()
const userOf = (i: number) => (i % 3 === 0 ? null : i % 3 === 1 ? "alice" : "bob")
const seqs = (chains: ReadonlyArray<{ chain: string; records: ReadonlyArray<{ seq: number }> }>) =>
  chains.map((c) => [c.chain, c.records.map((r) => r.seq)])
const cuts = (chains: ReadonlyArray<{ chain: string; checkpoints: ReadonlyArray<{ seq: number; cut: boolean }> }>) =>
  chains.map((c) => [c.chain, c.checkpoints.filter((k) => k.cut).map((k) => k.seq)])
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const verifies = (signer: AuditSigner, chains: Effect.Effect.Success<ReturnType<typeof readChains>>) => {
  for (const c of chains) {
    const result = verifyChain({ ...c, publicKey: signer.publicKey })
    assert.isTrue(Either.isRight(result), `${c.chain}: ${JSON.stringify(Either.isLeft(result) && result.left)}`)
  }
}

describe.each(engines)("migration 0008_audit_events on $name", (engine) => {
  it.live("a store the 0004 layout wrote reads, verifies and retains as before, and new events continue its chains", () =>
    Effect.gen(function*() {
      const at = yield* engine.fresh
      const signer = loadSigner(tempDir("rw-audit-key-"))
      // Twelve events the old writer linked (alice 1, 4, 7, 10; bob 2, 5, 8, 11), checkpoints every 4.
      const old = yield* Effect.gen(function*() {
        yield* appendOld(signer, range(0, 5).map((i) => event(i, userOf(i))))
        yield* appendOld(signer, range(6, 11).map((i) => event(i, userOf(i))))
        const sql = yield* SqlClient.SqlClient
        const records = yield* sql<RecordRow>`SELECT * FROM audit_records ORDER BY chain, seq`
        const checkpoints = yield* sql`SELECT * FROM audit_checkpoints ORDER BY chain, seq, cut`
        return { records: records.map(recordOf), checkpoints: checkpoints.map((c) => checkpointOf(c as never)) }
      }).pipe(Effect.provide(oldStoreAt(at)), Effect.scoped)
      assert.strictEqual(old.records.length, 20)

      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* makeAuditStore(signer, { every: 4, intervalMs: 60_000 })
        const migrated = yield* readChains()
        assert.deepStrictEqual(migrated.flatMap((c) => c.records), old.records, "the same records")
        assert.deepStrictEqual(migrated.flatMap((c) => c.checkpoints), old.checkpoints, "the same checkpoints")
        verifies(signer, migrated)
        const page = yield* store.page("alice", 1, 2)
        assert.deepStrictEqual(page.records.map((r) => [r.seq, r.detail.i]), [[2, 4], [3, 7]])

        // New events continue every chain from its head: six through the store, six through the worker's appender.
        yield* store.append(range(12, 17).map((i) => event(i, userOf(i))))
        if (at.databaseUrl === undefined) {
          const appender = sqliteAppender(at.file, signer, 4)
          appender.append(range(18, 23).map((i) => event(i, userOf(i))))
          appender.close()
        } else yield* store.append(range(18, 23).map((i) => event(i, userOf(i))))
        const events = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM audit_events`
        assert.strictEqual(Number(events[0]!.n), 12, "one row per new event")
        const grown = yield* readChains()
        assert.deepStrictEqual(seqs(grown), [["global", range(1, 24)], ["user:alice", range(1, 8)], [
          "user:bob",
          range(1, 8)
        ]])
        assert.deepStrictEqual(grown.map((c) => c.head?.seq), [24, 8, 8])
        verifies(signer, grown)
        // A page across the two layouts: alice's 3rd and 4th records are old, her 5th and 6th new.
        const across = yield* store.page("alice", 2, 4)
        assert.deepStrictEqual(across.records.map((r) => [r.seq, r.detail.i]), [[3, 7], [4, 10], [5, 13], [6, 16]])
        assert.deepStrictEqual(across.records, grown[1]!.records.slice(2, 6))

        // Retention inside the old records: each chain cut at its newest record older than `before`.
        assert.strictEqual(yield* store.retain(iso(at0 + 6)), 6 + 2 + 2)
        const first = yield* readChains()
        assert.deepStrictEqual(seqs(first), [["global", range(7, 24)], ["user:alice", range(3, 8)], [
          "user:bob",
          range(3, 8)
        ]])
        assert.deepStrictEqual(cuts(first), [["global", [6]], ["user:alice", [2]], ["user:bob", [2]]])
        verifies(signer, first)
        // Then into the new events (global 13..15, alice's 5, bob's 5): the rest of the old records go with them.
        assert.strictEqual(yield* store.retain(iso(at0 + 15)), 6 + 2 + 2 + 3 + 1 + 1)
        const second = yield* readChains()
        assert.deepStrictEqual(seqs(second), [["global", range(16, 24)], ["user:alice", range(6, 8)], [
          "user:bob",
          range(6, 8)
        ]])
        assert.deepStrictEqual(cuts(second), [["global", [15]], ["user:alice", [5]], ["user:bob", [5]]])
        verifies(signer, second)
        const legacy = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM audit_records_legacy`
        assert.strictEqual(Number(legacy[0]!.n), 0)
      }).pipe(Effect.provide(storeAt(at)), Effect.scoped)
    }))

  it.live("retention cuts by the global chain: an event linked after a newer one goes with it, and every chain verifies", () =>
    Effect.gen(function*() {
      const at = yield* engine.fresh
      const signer = loadSigner(tempDir("rw-audit-key-"))
      const policy = { every: 256, intervalMs: 60_000 }
      const replica = Effect.flatMap(
        Layer.build(storeAt(at)),
        (ctx) => Effect.provide(makeAuditStore(signer, policy), ctx)
      )
      const [a, b] = [yield* replica, yield* replica]
      const read = Effect.provide(readChains(), yield* Layer.build(storeAt(at)))
      // Replica a links alice@10 and bob@11; then replica b, whose events are older, alice@5 and bob@20.
      yield* a.append([event(1, "alice", at0 + 10), event(2, "bob", at0 + 11)])
      yield* b.append([event(3, "alice", at0 + 5), event(4, "bob", at0 + 20)])
      yield* a.append([event(5, "alice", at0 + 30)])
      // Newest event older than at0+8 is global seq 3 (alice@5): global 1..3 go, alice 1..2, and bob's 1.
      assert.strictEqual(yield* b.retain(iso(at0 + 8)), 3 + 2 + 1)
      const chains = yield* read
      assert.deepStrictEqual(seqs(chains), [["global", [4, 5]], ["user:alice", [3]], ["user:bob", [2]]])
      assert.deepStrictEqual(chains.map((c) => c.records.map((r) => r.detail.i)), [[4, 5], [5], [4]])
      assert.deepStrictEqual(cuts(chains), [["global", [3]], ["user:alice", [2]], ["user:bob", [1]]])
      verifies(signer, chains)
      const page = yield* a.page("bob", 0, 10)
      assert.deepStrictEqual(page.records.map((r) => r.seq), [2])
      assert.deepStrictEqual(page.checkpoints.map((c) => [c.seq, c.cut]), [[1, true]])
      assert.isTrue(Either.isRight(verifyChain({ ...page, publicKey: signer.publicKey })))
      // Nothing older is left: retaining again drops nothing and signs nothing new.
      assert.strictEqual(yield* a.retain(iso(at0 + 8)), 0)
      assert.deepStrictEqual(cuts(yield* read), cuts(chains))
    }).pipe(Effect.scoped))
})
