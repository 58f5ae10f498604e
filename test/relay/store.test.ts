import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Redacted, type Scope, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { RateLimitsLive } from "../../src/layers/RateLimitsLive.js"
import { RelayLiveOn } from "../../src/layers/RelayLive.js"
import type { DaemonRetention } from "../../src/layers/RelayRouterLive.js"
import { relayStoreLayer } from "../../src/layers/RelayStore.js"
import { RelayStorePg } from "../../src/layers/RelayStorePg.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { RateLimits } from "../../src/services/RateLimits.js"
import { RelayRouter, type TunnelLink } from "../../src/services/RelayRouter.js"
import { RelaySessions } from "../../src/services/RelaySessions.js"
import { tempHome } from "../support/Daemon.js"
import { cli } from "../support/Process.js"
import { storeAt, type StoreEngine, storeEngines, type StoreLocation } from "../support/StoreEngines.js"

/**
 * The relay's store suite, run against both of its Layers: SQLite (a file, as the relay runs it)
 * and PostgreSQL (a real server, a fresh database per test). Everything goes through the real
 * services, on the layer `relayStoreLayer` picks.
 */

const engines = storeEngines("rw-store-")
const postgres = engines[1]!

type Location = StoreLocation

const LIMIT = { max: 3, windowMs: 60_000 }

/** One relay process's services on the store at `at`: several of these on one store are replicas. */
const replica = (at: Location, retention?: DaemonRetention) =>
  Layer.merge(
    RelayLiveOn(
      storeAt(at),
      { intervalMs: 60_000, deadAfterMs: 120_000 },
      retention
    ),
    RateLimitsLive(LIMIT).pipe(
      Layer.provide(storeAt(at))
    )
  )

type Services = Layer.Layer.Success<ReturnType<typeof replica>>

/** Runs `test` on a fresh store with one replica's services. */
const onStore = <A, E>(
  engine: StoreEngine,
  test: (at: Location) => Effect.Effect<A, E, Services | Scope.Scope>,
  retention?: DaemonRetention
) => Effect.flatMap(engine.fresh, (at) => test(at).pipe(Effect.provide(replica(at, retention)))).pipe(Effect.scoped)

/** A second replica's services on the same store, for the length of the scope. */
const secondReplica = (at: Location) => Layer.build(replica(at))

/** A live tunnel as the relay's router holds it; the store only sees its ids. */
const fakeLink = (userId: string, daemonId: string, keyId = "k_test"): TunnelLink & { closed: Array<number> } => {
  const closed: Array<number> = []
  return {
    info: { userId, keyId, daemonId },
    connectedAt: new Date().toISOString(),
    get isOpen() {
      return closed.length === 0
    },
    activeStreams: 0,
    queuedBytes: 0,
    keepalive: () => undefined,
    goAway: () => undefined,
    close: (code) => {
      closed.push(code)
    },
    closed
  }
}

const countRows = (table: "sessions" | "rate_limits" | "users") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`).pipe(
    Effect.map((rows) => Number(rows[0]!.n))
  )

describe.each(engines)("relay store on $name", (engine) => {
  it.live("api keys: minted once, verified by digest, listed without keys, revoked by key or user", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const keys = yield* ApiKeys
        const first = yield* keys.create("alice", "laptop")
        const second = yield* keys.create("alice")
        const bob = yield* keys.register("desk")
        assert.match(Redacted.value(first.key), /^rw_[A-Za-z0-9_-]{43}$/)
        assert.match(bob.record.user_id, /^u_/)
        assert.notStrictEqual(Redacted.value(first.key), Redacted.value(second.key))

        const found = yield* keys.verify(first.key)
        assert.deepStrictEqual(Option.getOrNull(found), first.record)
        assert.deepStrictEqual(Option.getOrNull(yield* keys.verify(bob.key))?.user_id, bob.record.user_id)
        assert.isTrue(Option.isNone(yield* keys.verify(Redacted.make(`rw_${"A".repeat(43)}`))))
        assert.isTrue(Option.isNone(yield* keys.verify(Redacted.make("not a key"))))

        const listed = yield* keys.list
        assert.sameMembers(listed.map((k) => k.key_id), [first.record.key_id, second.record.key_id, bob.record.key_id])
        assert.notInclude(JSON.stringify(listed), Redacted.value(first.key))
        assert.deepStrictEqual(listed.find((k) => k.key_id === first.record.key_id), first.record)
        // Two keys of one user: the user is created once.
        assert.strictEqual(yield* countRows("users"), 2)

        assert.deepStrictEqual(yield* keys.revoke(first.record.key_id), [first.record.key_id])
        assert.isTrue(Option.isNone(yield* keys.verify(first.key)))
        assert.isTrue(Option.isSome(yield* keys.verify(second.key)))
        assert.deepStrictEqual(yield* keys.revoke("alice"), [second.record.key_id])
        assert.deepStrictEqual(yield* keys.revoke("alice"), [])
        const revoked = (yield* keys.list).filter((k) => k.revoked_at !== null).map((k) => k.key_id)
        assert.sameMembers(revoked, [first.record.key_id, second.record.key_id])
        assert.isTrue(Option.isSome(yield* keys.verify(bob.key)))
      })))

  it.live("rotation: a new key for the same user, the old one revoked and its sessions ended", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const keys = yield* ApiKeys
        const sessions = yield* RelaySessions
        const old = yield* keys.register()
        const a = yield* sessions.create(old.record.user_id, old.record.key_id, Duration.hours(1))
        const b = yield* sessions.create(old.record.user_id, old.record.key_id, Duration.hours(1))
        const fresh = yield* keys.create(old.record.user_id)
        const other = yield* sessions.create(fresh.record.user_id, fresh.record.key_id, Duration.hours(1))

        assert.deepStrictEqual(yield* keys.revoke(old.record.key_id), [old.record.key_id])
        assert.strictEqual(yield* sessions.removeByKey(old.record.key_id), 2)
        assert.isTrue(Option.isNone(yield* sessions.get(Redacted.value(a.id))))
        assert.isTrue(Option.isNone(yield* sessions.get(Redacted.value(b.id))))
        assert.isTrue(Option.isSome(yield* sessions.get(Redacted.value(other.id))))
        assert.strictEqual(Option.getOrNull(yield* keys.verify(fresh.key))?.user_id, old.record.user_id)
        assert.isTrue(Option.isNone(yield* keys.verify(old.key)))
      })))

  it.live("sessions: created, found by cookie value, bound to a daemon, expired, ended", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const sessions = yield* RelaySessions
        const before = Date.now()
        const made = yield* sessions.create("alice", "k_1", Duration.hours(12))
        assert.isAtLeast(made.expiresAt, before + 12 * 3600_000)

        const found = Option.getOrThrow(yield* sessions.get(Redacted.value(made.id)))
        assert.deepStrictEqual(found, { user_id: "alice", key_id: "k_1", daemon_id: null, expires_at: made.expiresAt })
        assert.strictEqual(typeof found.expires_at, "number")

        yield* sessions.choose(Redacted.value(made.id), "laptop")
        assert.strictEqual(Option.getOrThrow(yield* sessions.get(Redacted.value(made.id))).daemon_id, "laptop")

        assert.isTrue(Option.isNone(yield* sessions.get("x".repeat(43))))
        assert.isTrue(Option.isNone(yield* sessions.get("not a session id")))

        const short = yield* sessions.create("alice", "k_1", Duration.millis(20))
        yield* Effect.sleep("60 millis")
        assert.isTrue(Option.isNone(yield* sessions.get(Redacted.value(short.id))))
        // The expired row went with that lookup.
        assert.strictEqual(yield* countRows("sessions"), 1)
        // Creating a session sweeps the expired ones.
        yield* sessions.create("bob", "k_2", Duration.millis(1))
        yield* Effect.sleep("20 millis")
        yield* sessions.create("bob", "k_2", Duration.hours(1))
        assert.strictEqual(yield* countRows("sessions"), 2)

        yield* sessions.remove(Redacted.value(made.id))
        assert.isTrue(Option.isNone(yield* sessions.get(Redacted.value(made.id))))
        assert.strictEqual(yield* sessions.removeByKey("k_1"), 0)
        assert.strictEqual(yield* sessions.removeByKey("k_2"), 1)
        assert.strictEqual(yield* countRows("sessions"), 0)
      })))

  it.live("daemons seen: listed connected then remembered, newest first, capped per user, never another user's", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const router = yield* RelayRouter
        const laptop = fakeLink("alice", "laptop")
        assert.isTrue(yield* router.attach(laptop, 8))
        yield* Effect.sleep("5 millis")
        const desk = fakeLink("alice", "desk")
        assert.isTrue(yield* router.attach(desk, 8))
        yield* router.attach(fakeLink("bob", "laptop", "k_bob"), 8)

        const both = yield* router.daemons("alice")
        assert.deepStrictEqual(both.map((d) => [d.daemon_id, d.connected]), [["desk", true], ["laptop", true]])

        yield* router.detach(laptop)
        const after = yield* router.daemons("alice")
        assert.deepStrictEqual(after.map((d) => [d.daemon_id, d.connected]), [["desk", true], ["laptop", false]])
        assert.match(after[1]!.last_seen, /^\d{4}-\d\d-\d\dT/)

        // A newer tunnel for the same daemon id replaces the old one.
        const again = fakeLink("alice", "desk")
        yield* router.attach(again, 8)
        assert.deepStrictEqual(desk.closed.length, 1)

        for (let i = 0; i < 5; i++) {
          yield* Effect.sleep("3 millis")
          const link = fakeLink("alice", `extra${i}`)
          yield* router.attach(link, 99)
          yield* router.detach(link)
        }
        // The four seen last are kept (laptop and extra0 are forgotten); desk, seen before them,
        // is still listed because its tunnel is open.
        const capped = yield* router.daemons("alice")
        assert.deepStrictEqual(capped.map((d) => [d.daemon_id, d.connected]), [
          ["desk", true],
          ["extra4", false],
          ["extra3", false],
          ["extra2", false],
          ["extra1", false]
        ])
        const stored = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ daemon_id: string }>`SELECT daemon_id FROM daemons WHERE user_id = 'alice'`
        )
        assert.sameMembers(stored.map((r) => r.daemon_id), ["extra4", "extra3", "extra2", "extra1"])
        assert.deepStrictEqual((yield* router.daemons("bob")).map((d) => d.daemon_id), ["laptop"])
      }), { ttlMs: 86_400_000, maxPerUser: 4 }))

  it.effect("rate limits: a fixed window per client and bucket, retry seconds, ended windows pruned", () =>
    onStore(engine, () =>
      Effect.gen(function*() {
        const limits = yield* RateLimits
        for (let i = 0; i < LIMIT.max; i++) assert.isTrue(yield* limits.take("auth", "10.0.0.1"))
        assert.strictEqual(yield* limits.take("auth", "10.0.0.1"), 60)
        yield* TestClock.adjust("20 seconds")
        assert.strictEqual(yield* limits.take("auth", "10.0.0.1"), 40)
        assert.isTrue(yield* limits.take("auth", "10.0.0.2"))
        assert.isTrue(yield* limits.take("register", "10.0.0.1"))

        yield* TestClock.adjust("40 seconds")
        // The first client's window has ended: it starts a new one, and the ended row is pruned.
        assert.isTrue(yield* limits.take("auth", "10.0.0.1"))
        assert.strictEqual(yield* countRows("rate_limits"), 3)
        // At 101 s the windows of 10.0.0.2 and of the register bucket (ended at 80 s) are pruned
        // when 10.0.0.3 starts one; 10.0.0.1's second window (until 120 s) stays.
        yield* TestClock.adjust("41 seconds")
        assert.isTrue(yield* limits.take("auth", "10.0.0.3"))
        assert.strictEqual(yield* countRows("rate_limits"), 2)
        for (let i = 1; i < LIMIT.max; i++) assert.isTrue(yield* limits.take("auth", "10.0.0.1"))
        assert.strictEqual(yield* limits.take("auth", "10.0.0.1"), 19)
      })))

  it.effect("rate limits: a bucket keeps at most maxClients windows, the newest, and always the client counting", () =>
    Effect.flatMap(engine.fresh, (at) =>
      Effect.gen(function*() {
        const limits = yield* RateLimits
        for (let i = 0; i < 8; i++) {
          assert.isTrue(yield* limits.take("auth", `10.0.1.${i}`))
          yield* TestClock.adjust("1 second")
        }
        assert.isTrue(yield* limits.take("register", "10.0.1.0"))
        const clients = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ client: string }>`SELECT client FROM rate_limits WHERE bucket = 'auth'`
        )
        assert.sameMembers(clients.map((r) => r.client), ["10.0.1.5", "10.0.1.6", "10.0.1.7"])
        // The newest is still counted; the oldest, forgotten, starts a new window.
        for (let i = 1; i < LIMIT.max; i++) assert.isTrue(yield* limits.take("auth", "10.0.1.7"))
        assert.isNumber(yield* limits.take("auth", "10.0.1.7"))
        assert.isTrue(yield* limits.take("auth", "10.0.1.0"))
        assert.strictEqual(yield* countRows("rate_limits"), 4)
      }).pipe(Effect.provide(RateLimitsLive(LIMIT, 3).pipe(Layer.provideMerge(storeAt(at)))))).pipe(Effect.scoped))

  it.live("two replicas on one store: keys, sessions and rate limits are shared", () =>
    onStore(engine, (at) =>
      Effect.gen(function*() {
        const other = yield* secondReplica(at)
        const minted = yield* Effect.flatMap(ApiKeys, (k) => k.create("alice"))
        const onOther = <A>(effect: Effect.Effect<A, never, Services>) => Effect.provide(effect, other)

        assert.isTrue(Option.isSome(yield* onOther(Effect.flatMap(ApiKeys, (k) => k.verify(minted.key)))))
        const session = yield* onOther(
          Effect.flatMap(RelaySessions, (s) => s.create("alice", minted.record.key_id, Duration.hours(1)))
        )
        const here = yield* Effect.flatMap(RelaySessions, (s) => s.get(Redacted.value(session.id)))
        assert.strictEqual(Option.getOrThrow(here).user_id, "alice")

        yield* onOther(Effect.flatMap(ApiKeys, (k) => k.revoke(minted.record.key_id)))
        assert.isTrue(Option.isNone(yield* Effect.flatMap(ApiKeys, (k) => k.verify(minted.key))))
        yield* onOther(Effect.flatMap(RelaySessions, (s) => s.removeByKey(minted.record.key_id)))
        assert.isTrue(Option.isNone(yield* Effect.flatMap(RelaySessions, (s) => s.get(Redacted.value(session.id)))))

        // Hits spread over both replicas, at once, count against one window: exactly max pass.
        const takes = yield* Effect.all(
          Array.from({ length: 12 }, (_, i) =>
            i % 2 === 0
              ? Effect.flatMap(RateLimits, (l) => l.take("auth", "203.0.113.9"))
              : onOther(Effect.flatMap(RateLimits, (l) => l.take("auth", "203.0.113.9")))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(takes.filter((t) => t === true).length, LIMIT.max)
      })))
})

describe("relay store on PostgreSQL: starting together, picking the layer", () => {
  it.live(
    "four replicas starting at once on a fresh database migrate it once, without an error",
    () =>
      Effect.gen(function*() {
        const url = (yield* postgres.fresh).databaseUrl!
        const started = yield* Effect.all(
          Array.from({ length: 4 }, () => Effect.exit(Layer.build(RelayStorePg(url)))),
          { concurrency: "unbounded" }
        )
        started.forEach((exit) => assert.isTrue(Exit.isSuccess(exit), String(exit)))
        const ctx = started.map((exit) => Exit.getOrElse(exit, () => assert.fail("not started")))[0]!
        const sql = SqlClient.SqlClient
        const applied = yield* Effect.flatMap(
          sql,
          (sql) =>
            sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations
          ORDER BY migration_id`
        ).pipe(Effect.provide(ctx))
        assert.deepStrictEqual(applied.map((m) => [m.migration_id, m.name]), [
          [1, "relay"],
          [2, "daemons_last_seen"],
          [3, "rate_limits"],
          [4, "audit"],
          [5, "tunnel_directory"],
          [6, "cluster_signals"],
          [7, "mesh_directory"],
          [8, "audit_events"]
        ])
        // Nobody is left holding the migration lock.
        const locks = yield* Effect.flatMap(
          sql,
          (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory'`
        ).pipe(Effect.provide(ctx))
        assert.strictEqual(Number(locks[0]!.n), 0)
        // A replica that starts later finds the schema current.
        yield* Layer.build(RelayStorePg(url))
      }).pipe(Effect.scoped),
    60_000
  )

  it.live("a database URL that is not PostgreSQL's is refused by name", () =>
    Effect.gen(function*() {
      const exit = yield* Layer.build(
        relayStoreLayer({ databaseUrl: Redacted.make("mysql://db/relay"), sqliteFile: Effect.die("not SQLite") })
      ).pipe(Effect.scoped, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "InvalidDatabaseUrl")
    }))

  it.live("an unreachable server is named in the failure, without its password", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(RelayStorePg(Redacted.make("postgres://relay:hunter2@127.0.0.1:1/relay"))).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.include(error.message, "PostgreSQL at 127.0.0.1:1/relay")
      assert.include(error.message, "ECONNREFUSED")
      assert.notInclude(error.message, "hunter2")
    }))

  it(
    "relay keys create / list / revoke --database-url work on PostgreSQL (and REPOWIRE_RELAY__DATABASE_URL)",
    async () => {
      const home = await tempHome()
      const url = Redacted.value((await Effect.runPromise(postgres.fresh)).databaseUrl!)
      // No key dir anywhere, not even a temporary one: with TMPDIR pointing nowhere, a command
      // that made one would fail.
      const noTmp = { TMPDIR: path.join(home, "no-such-tmp") }
      const created = cli(home, ["relay", "keys", "create", "--user", "alice", "--database-url", url], noTmp)
      assert.strictEqual(created.code, 0, created.stderr)
      const key = created.stdout.trim()
      assert.match(key, /^rw_[A-Za-z0-9_-]{43}$/)
      const listed = cli(home, ["relay", "keys", "list", "--json"], { REPOWIRE_RELAY__DATABASE_URL: url })
      assert.strictEqual(listed.code, 0, listed.stderr)
      assert.notInclude(listed.stdout, key)
      assert.deepStrictEqual(JSON.parse(listed.stdout).keys.map((k: { user_id: string }) => k.user_id), ["alice"])
      // Nothing on the operator's machine: no SQLite file, no audit key (these commands never sign), no data dir.
      assert.isFalse(fs.existsSync(path.join(home, "relay")))
      // The keys went to PostgreSQL, not to a SQLite file under the home.
      assert.deepStrictEqual(JSON.parse(cli(home, ["relay", "keys", "list", "--json"]).stdout).keys, [])
      const revoked = cli(home, ["relay", "keys", "revoke", "alice", "--database-url", url], noTmp)
      assert.strictEqual(revoked.code, 0, revoked.stderr)
      assert.isFalse(fs.existsSync(noTmp.TMPDIR))
      assert.notStrictEqual(cli(home, ["relay", "keys", "revoke", "alice", "--database-url", url]).code, 0)
      const config = cli(home, ["config", "show", "--json"], { REPOWIRE_RELAY__DATABASE_URL: url })
      assert.strictEqual(config.code, 0, config.stderr)
      assert.notInclude(config.stdout, url.split("@")[0]!.split(":")[2]!)
    },
    60_000
  )
})
