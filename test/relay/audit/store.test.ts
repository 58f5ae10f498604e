import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import BetterSqlite from "better-sqlite3"
import { Effect, Either, Layer, Redacted, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { loadSigner } from "../../../src/layers/audit/AuditKey.js"
import { AuditLive } from "../../../src/layers/audit/AuditLive.js"
import { makeAuditStore, readChains, type StampedEvent } from "../../../src/layers/audit/AuditStore.js"
import { sqliteAppender } from "../../../src/layers/audit/SqliteAppend.js"
import { verifyChain } from "../../../src/layers/audit/Verify.js"
import type { AuditRecord } from "../../../src/protocol/Audit.js"
import { Audit } from "../../../src/services/Audit.js"
import { cli } from "../../support/Process.js"
import { storeAt, storeEngines, type StoreLocation as Location } from "../../support/StoreEngines.js"
import { tempDir } from "../harness.js"

/**
 * The audit chains in the relay's store, run against both of its Layers: SQLite (a file, as the
 * relay runs it) and PostgreSQL (a real server, a fresh database per test).
 */

const engines = storeEngines("rw-audit-store-")

const onStore = <A, E>(
  engine: (typeof engines)[number],
  test: (at: Location) => Effect.Effect<A, E, SqlClient.SqlClient | Scope.Scope>
) => Effect.flatMap(engine.fresh, (at) => test(at).pipe(Effect.provide(storeAt(at)))).pipe(Effect.scoped)

const event = (i: number, user: string | null = "alice"): StampedEvent => ({
  ms: Date.now() - 10_000 + i,
  kind: "request",
  user_id: user,
  detail: { path: `/p/${i}` }
})

const problemOf = (result: ReturnType<typeof verifyChain>) => {
  if (Either.isRight(result)) return assert.fail("expected the chain to fail verification")
  return result.left.problem
}

describe.each(engines)("audit chains on $name", (engine) => {
  it.live("writes the global and each user's chain, checkpoints every N records, and verifies", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const dir = tempDir("rw-audit-key-")
        const signer = loadSigner(dir)
        const store = yield* makeAuditStore(signer, { every: 4, intervalMs: 60_000 })
        yield* store.append(
          Array.from({ length: 9 }, (_, i) => event(i, i % 3 === 0 ? null : i % 3 === 1 ? "alice" : "bob"))
        )
        yield* store.checkpointDue(0)
        const chains = yield* readChains()
        assert.deepStrictEqual(chains.map((c) => [c.chain, c.records.length]), [
          ["global", 9],
          ["user:alice", 3],
          ["user:bob", 3]
        ])
        assert.deepStrictEqual(chains[0]!.checkpoints.map((c) => c.seq), [4, 8, 9])
        for (const c of chains) assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey: signer.publicKey })))
        assert.strictEqual(fs.statSync(path.join(dir, "audit-ed25519.pem")).mode & 0o777, 0o600)
      })))

  it.live("retention drops old records only behind a signed cut, which verifies; deletion without one does not", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const signer = loadSigner(tempDir("rw-audit-key-"))
        const store = yield* makeAuditStore(signer, { every: 256, intervalMs: 60_000 })
        yield* store.append(Array.from({ length: 6 }, (_, i) => event(i)))
        yield* store.append([{ ...event(7), ms: Date.now() + 60_000 }])
        const dropped = yield* store.retain(new Date().toISOString())
        assert.strictEqual(dropped, 12)
        const [alice] = yield* readChains("user:alice")
        assert.deepStrictEqual(alice!.records.map((r) => r.seq), [7])
        assert.deepStrictEqual(alice!.checkpoints.map((c) => [c.seq, c.cut]), [[6, true]])
        assert.isTrue(Either.isRight(verifyChain({ ...alice!, publicKey: signer.publicKey })))
        assert.strictEqual(
          problemOf(verifyChain({ ...alice!, checkpoints: [], publicKey: signer.publicKey })),
          "deleted"
        )
        yield* store.append([event(8)])
        const [after] = yield* readChains("user:alice")
        assert.deepStrictEqual(after!.records.map((r) => r.seq), [7, 8])
        assert.isTrue(Either.isRight(verifyChain({ ...after!, publicKey: signer.publicKey })))
      })))

  it.live.each(["this thread", "the audit worker"])(
    "AuditLive queues, writes in batches on %s, serves a user's page, and checkpoints on close",
    (where) =>
      onStore(engine, (at) =>
        Effect.gen(function*() {
          const worker = where === "the audit worker"
            ? {
              databaseUrl: at.databaseUrl === undefined ? undefined : Redacted.value(at.databaseUrl),
              sqliteFile: at.file
            }
            : undefined
          const dir = tempDir("rw-audit-key-")
          const page = yield* Effect.gen(function*() {
            const audit = yield* Audit
            for (let i = 0; i < 40; i++) {
              audit.record({ kind: "request", user_id: i % 2 === 0 ? "alice" : "bob", detail: { n: i } })
            }
            yield* Effect.sleep("100 millis")
            return yield* audit.page("alice", 0, 1000)
          }).pipe(Effect.provide(AuditLive(dir, { flushMs: 10, maxBatch: 7, worker })))
          assert.deepStrictEqual(page.records.map((r) => r.detail.n), Array.from({ length: 20 }, (_, i) => 2 * i))
          const chains = yield* readChains()
          assert.deepStrictEqual(chains.map((c) => [c.chain, c.head?.seq]), [
            ["global", 40],
            ["user:alice", 20],
            ["user:bob", 20]
          ])
          for (const c of chains) {
            assert.strictEqual(c.checkpoints.at(-1)?.seq, c.head?.seq, `${c.chain} checkpointed on close`)
            assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey: page.public_key })))
          }
        }))
  )
})

describe("audit chains on SQLite: the audit worker's appender", () => {
  it.live("appends what AuditStore.append does: the same records, links and checkpoints, and verifies", () =>
    Effect.gen(function*() {
      const signer = loadSigner(tempDir("rw-audit-key-"))
      const events = Array.from({ length: 40 }, (_, i) => event(i, i % 3 === 0 ? null : i % 3 === 1 ? "alice" : "bob"))
      const batches = [events.slice(0, 25), events.slice(25)]
      const viaClient = yield* onStore(engines[0]!, () =>
        Effect.gen(function*() {
          const store = yield* makeAuditStore(signer, { every: 8, intervalMs: 60_000 })
          for (const batch of batches) yield* store.append(batch)
          return yield* readChains()
        }))
      const viaWorker = yield* onStore(engines[0]!, (at) =>
        Effect.gen(function*() {
          const appender = sqliteAppender(at.file, signer, 8)
          for (const batch of batches) appender.append(batch)
          appender.close()
          return yield* readChains()
        }))
      assert.deepStrictEqual(viaWorker.map((c) => c.records), viaClient.map((c) => c.records))
      assert.deepStrictEqual(viaWorker.map((c) => c.head), viaClient.map((c) => c.head))
      const signed = (chains: typeof viaClient) => chains.map((c) => c.checkpoints.map((k) => [k.seq, k.hash, k.cut]))
      assert.deepStrictEqual(signed(viaWorker), signed(viaClient))
      assert.deepStrictEqual(viaWorker[0]!.checkpoints.map((c) => c.seq), [8, 16, 24, 32, 40])
      for (const c of viaWorker) assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey: signer.publicKey })))
    }))

  it.live("a record already at a seq the batch needs fails the whole batch: nothing of it is kept, and the next one goes in", () =>
    onStore(engines[0]!, (at) =>
      Effect.gen(function*() {
        const signer = loadSigner(tempDir("rw-audit-key-"))
        const appender = sqliteAppender(at.file, signer, 1000)
        appender.append(Array.from({ length: 5 }, (_, i) => event(i)))
        const before = yield* readChains()
        // Another writer's event where this batch's 3rd event goes on alice's chain (a stale head of a
        // user's chain: the middle of the first multi-row INSERT, of 20 rows), then on the global chain.
        const db = new BetterSqlite(at.file)
        const foreign = db.prepare<[number, number]>(`INSERT INTO audit_events
          (seq, at, kind, user_id, detail, prev_hash, hash, user_chain, user_seq, user_prev_hash, user_hash)
          VALUES (?, 'x', 'request', 'alice', '{}', 'x', 'x', 'user:alice', ?, 'x', 'x')`)
        for (const [seq, userSeq] of [[1000, 8], [8, 1000]] as const) {
          foreign.run(seq, userSeq)
          assert.throws(() => appender.append(Array.from({ length: 20 }, (_, i) => event(5 + i))), /UNIQUE|PRIMARY/)
          db.prepare("DELETE FROM audit_events WHERE hash = 'x'").run()
          assert.deepStrictEqual(yield* readChains(), before)
        }
        db.close()
        appender.append(Array.from({ length: 20 }, (_, i) => event(5 + i)))
        appender.close()
        const after = yield* readChains()
        assert.deepStrictEqual(after.map((c) => [c.chain, c.head?.seq, c.records.length]), [
          ["global", 25, 25],
          ["user:alice", 25, 25]
        ])
        for (const c of after) assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey: signer.publicKey })))
      })))
})

describe("AuditLive when writes fall behind", () => {
  it.live("a relay whose audit worker cannot open the store does not start, and says why", () =>
    onStore(engines[0]!, () =>
      Effect.gen(function*() {
        const worker = {
          databaseUrl: undefined,
          sqliteFile: path.join(tempDir("rw-audit-none-"), "missing", "relay.db")
        }
        const error = yield* Effect.flip(Layer.build(AuditLive(tempDir("rw-audit-key-"), { worker })))
        assert.strictEqual(error._tag, "AuditWriteFailed")
        assert.include(error.message, "Cannot open database because the directory does not exist")
      })))

  it.live("a full queue drops new events and counts them; one audit_dropped record tells the global chain", () =>
    onStore(engines[0]!, () =>
      Effect.gen(function*() {
        const dir = tempDir("rw-audit-key-")
        yield* Effect.gen(function*() {
          const audit = yield* Audit
          // No tick writes during this: the queue holds 5, the other 7 are refused.
          for (let i = 0; i < 12; i++) audit.record({ kind: "request", user_id: "alice", detail: { n: i } })
          yield* audit.flush
          audit.record({ kind: "request", user_id: "alice", detail: { n: 12 } })
        }).pipe(Effect.provide(AuditLive(dir, { flushMs: 3_600_000, maxQueued: 5 })))
        const [global, alice] = yield* readChains()
        const told = (r: AuditRecord) => (r.kind === "audit_dropped" ? `dropped ${r.detail.count}` : r.detail.n)
        assert.deepStrictEqual(global!.records.map(told), [0, 1, 2, 3, 4, "dropped 7", 12])
        const notice = global!.records[5]!
        assert.isNull(notice.user_id)
        assert.isAtMost(Date.parse(notice.detail.from as string), Date.parse(notice.detail.until as string))
        assert.deepStrictEqual(alice!.records.map(told), [0, 1, 2, 3, 4, 12])
        const publicKey = loadSigner(dir).publicKey
        for (const c of [global!, alice!]) assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey })))
      })))
})

describe("audit chains on PostgreSQL: several writers, the operator", () => {
  it.live("the CLI's writer appends without signing; the relay's tick signs what another writer appended", () =>
    onStore(engines[1]!, () =>
      Effect.gen(function*() {
        const record = (n: number) =>
          Effect.map(Audit, (a) => a.record({ kind: "key_minted", user_id: "dan", detail: { n } }))
        yield* record(1).pipe(Effect.provide(AuditLive(undefined, { flushMs: 10 })))
        const [unsigned] = yield* readChains("user:dan")
        assert.strictEqual(unsigned!.records.length, 1)
        assert.deepStrictEqual(unsigned!.checkpoints, [], "the CLI signed nothing with its own key")
        const relayKey = tempDir("rw-relay-key-")
        // Read while the relay's writer is still open: its tick signed them, not its close.
        const [signed] = yield* Effect.zipRight(Effect.sleep("150 millis"), readChains("user:dan")).pipe(
          Effect.provide(AuditLive(relayKey, { flushMs: 10, intervalMs: 40, every: 256 }))
        )
        assert.deepStrictEqual(signed!.checkpoints.map((c) => c.seq), [1])
        assert.isTrue(Either.isRight(verifyChain({ ...signed!, publicKey: loadSigner(relayKey).publicKey })))
      })))

  it.live("two replicas appending at once keep every chain linear: no fork, no gap, every record verifies", () =>
    onStore(engines[1]!, (at) =>
      Effect.gen(function*() {
        const signer = loadSigner(tempDir("rw-audit-key-"))
        const policy = { every: 16, intervalMs: 60_000 }
        const writer = (name: string) =>
          Effect.flatMap(
            Layer.build(storeAt(at)),
            (ctx) => Effect.provide(makeAuditStore(signer, policy), ctx)
          ).pipe(Effect.map((store) => ({ name, store })))
        const replicas = [yield* writer("a"), yield* writer("b")]
        // Each replica writes 30 batches of 10 (alice's and its own user's), both at once.
        yield* Effect.forEach(replicas, ({ name, store }) =>
          Effect.forEach(
            Array.from({ length: 30 }, (_, b) => b),
            (b) =>
              store.append(
                Array.from({ length: 10 }, (_, i) => event(b * 10 + i, i % 2 === 0 ? "alice" : `user-${name}`))
              ),
            { discard: true }
          ), { concurrency: "unbounded", discard: true })
        yield* replicas[0]!.store.checkpointDue(0)
        const chains = yield* readChains()
        assert.deepStrictEqual(chains.map((c) => [c.chain, c.records.length]), [
          ["global", 600],
          ["user:alice", 300],
          ["user:user-a", 150],
          ["user:user-b", 150]
        ])
        for (const c of chains) {
          assert.deepStrictEqual(c.records.map((r) => r.seq), Array.from({ length: c.records.length }, (_, i) => i + 1))
          assert.isTrue(Either.isRight(verifyChain({ ...c, publicKey: signer.publicKey })), c.chain)
        }
      })))

  it.live("relay audit --data-dir D --database-url (or REPOWIRE_RELAY__DATABASE_URL) verifies the chains in PostgreSQL", () =>
    onStore(engines[1]!, (at) =>
      Effect.gen(function*() {
        const dataDir = tempDir("rw-audit-op-")
        yield* Effect.gen(function*() {
          const audit = yield* Audit
          for (let i = 0; i < 5; i++) audit.record({ kind: "request", user_id: "carol", detail: { n: i } })
        }).pipe(Effect.provide(AuditLive(dataDir, { flushMs: 10 })))
        const url = Redacted.value(at.databaseUrl!)
        const home = tempDir("rw-op-")
        const ok = cli(home, ["relay", "audit", "--data-dir", dataDir, "--database-url", url, "--verify"])
        assert.strictEqual(ok.code, 0, ok.stderr)
        assert.match(ok.stdout, /chain user:carol: 5 records \(seq 1\.\.5\), signed checkpoint at seq 5: verified/)
        const json = cli(home, ["relay", "audit", "--data-dir", dataDir, "--user", "carol", "--json"], {
          REPOWIRE_RELAY__DATABASE_URL: url
        })
        assert.strictEqual(json.code, 0, json.stderr)
        const report = JSON.parse(json.stdout) as { ok: boolean; chains: Array<{ entries: Array<unknown> }> }
        assert.isTrue(report.ok)
        assert.strictEqual(report.chains[0]!.entries.length, 5)
        assert.isFalse(fs.existsSync(path.join(dataDir, "relay.db")), "no SQLite file is made beside PostgreSQL")

        const sql = yield* SqlClient.SqlClient
        yield* sql`DELETE FROM audit_events WHERE user_chain = 'user:carol' AND user_seq = 3`
        const bad = cli(home, ["relay", "audit", "--data-dir", dataDir, "--database-url", url, "--verify"])
        assert.strictEqual(bad.code, 1)
        assert.include(bad.stderr, "audit chain user:carol fails at seq 3 (deleted)")
      })))
})
