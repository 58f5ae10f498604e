import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { RelayLiveOn } from "../../src/layers/RelayLive.js"
import { type Lease, TunnelDirectoryLive } from "../../src/layers/TunnelDirectoryLive.js"
import { TunnelClose } from "../../src/protocol/TunnelClose.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { MeshDirectory } from "../../src/services/MeshDirectory.js"
import { RelayRouter, type TunnelLink } from "../../src/services/RelayRouter.js"
import { TunnelDirectory } from "../../src/services/TunnelDirectory.js"
import { storeAt, storeEngines, type StoreLocation as Location } from "../support/StoreEngines.js"

/** The tunnel directory on both store engines, through the real router and directory layers. */

const engines = storeEngines("rw-dir-")

/** One replica's router (with its directory) on the store at `at`; its sweep every `sweepMs`. */
const replica = (at: Location, name: string, sweepMs = 60_000) =>
  Layer.build(
    RelayLiveOn(storeAt(at), { intervalMs: sweepMs, deadAfterMs: 120_000 }, undefined, {
      replicaId: name,
      internalUrl: `https://${name}.internal:8443`
    })
  )

/** A tunnel that records how it was closed (it stays in the router's table: nothing detaches it). */
const link = (userId: string, daemonId: string, keyId = "k_test"): TunnelLink & { closedWith: Array<number> } => {
  const closedWith: Array<number> = []
  return {
    info: { userId, keyId, daemonId },
    connectedAt: new Date().toISOString(),
    get isOpen() {
      return closedWith.length === 0
    },
    activeStreams: 0,
    queuedBytes: 0,
    keepalive: () => undefined,
    goAway: () => undefined,
    // Closing twice is a no-op, as on a real tunnel.
    close: (code) => void (closedWith.length === 0 && closedWith.push(code)),
    closedWith
  }
}

/** Polls `probe` every 20 ms until it holds; how long that took, or undefined past `ms`. */
const within = (ms: number, probe: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (Date.now() - started < ms) {
      if (yield* probe) return Date.now() - started
      yield* Effect.sleep("20 millis")
    }
    return undefined
  })

const on = <A>(
  ctx: Effect.Effect.Success<ReturnType<typeof replica>>,
  effect: Effect.Effect<A, never, RelayRouter>
) => Effect.provide(effect, ctx)

const lone = (at: Location, name: string, lease: Lease) =>
  Layer.build(
    TunnelDirectoryLive({ replicaId: name, internalUrl: `https://${name}.internal` }, lease).pipe(
      Layer.provide(storeAt(at))
    )
  )

describe.each(engines)("tunnel directory on $name", (engine) => {
  it.live(
    "mesh sockets have a directory of their own: held and found from another replica, never taken for a tunnel",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const a = yield* replica(at, "a")
        const b = yield* replica(at, "b")
        // Only a replica has a mesh directory, which the layer's type does not say.
        const meshOf = <A>(ctx: typeof a, f: (d: MeshDirectory["Type"]) => Effect.Effect<A>) =>
          f(Context.unsafeGet(ctx, MeshDirectory))
        yield* meshOf(a, (d) => d.claim("alice", "laptop"))
        assert.deepStrictEqual(
          Option.getOrNull(yield* meshOf(b, (d) => d.holderNow("alice", "laptop"))),
          { replicaId: "a", internalUrl: "https://a.internal:8443" }
        )
        assert.deepStrictEqual(yield* meshOf(b, (d) => d.held("alice")), ["laptop"])
        assert.deepStrictEqual(yield* meshOf(b, (d) => d.held("mallory")), [])
        // No tunnel of the laptop is anywhere: its mesh socket is not one.
        assert.isTrue(Option.isNone(yield* on(b, Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")))))
        yield* meshOf(a, (d) => d.release("alice", "laptop"))
        assert.isTrue(Option.isNone(yield* meshOf(b, (d) => d.holderNow("alice", "laptop"))))
      }).pipe(Effect.scoped)
  )

  it.live(
    "a tunnel attached on one replica is found elsewhere from another; detached, it is gone",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const a = yield* replica(at, "a")
        const b = yield* replica(at, "b")
        const tunnel = link("alice", "laptop")
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(tunnel, 8))))
        const seen = yield* on(b, Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")))
        assert.deepStrictEqual(Option.getOrNull(seen), { replicaId: "a", internalUrl: "https://a.internal:8443" })
        // A holds it itself: nothing elsewhere, from A's side.
        assert.isTrue(Option.isNone(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")))))
        const listed = yield* on(b, Effect.flatMap(RelayRouter, (r) => r.daemons("alice")))
        assert.deepStrictEqual(listed.map((d) => [d.daemon_id, d.connected]), [["laptop", true]])
        // Another user's daemons are not anyone else's.
        assert.isTrue(Option.isNone(yield* on(b, Effect.flatMap(RelayRouter, (r) => r.elsewhere("bob", "laptop")))))
        yield* on(a, Effect.flatMap(RelayRouter, (r) => r.detach(tunnel)))
        // B remembered A for a moment: told by the store's signal (PostgreSQL) or past the moment (SQLite).
        const gone = on(
          b,
          Effect.map(Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")), Option.isNone)
        )
        assert.isDefined(yield* within(1_500, gone))
        const after = yield* on(b, Effect.flatMap(RelayRouter, (r) => r.daemons("alice")))
        assert.deepStrictEqual(after.map((d) => [d.daemon_id, d.connected]), [["laptop", false]])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a lookup is remembered; a failed hop forgets it, and on PostgreSQL the new holder's claim does at once and ends the old holder's stale link",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const [a, b, c] = [yield* replica(at, "a"), yield* replica(at, "b"), yield* replica(at, "c")]
        const stale = link("alice", "laptop")
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(stale, 8))))
        const fromB = on(b, Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")))
        assert.strictEqual(Option.getOrNull(yield* fromB)?.replicaId, "a")
        // The daemon reconnects through C (A's socket is half-open and A has not noticed).
        const fresh = link("alice", "laptop")
        assert.isTrue(yield* on(c, Effect.flatMap(RelayRouter, (r) => r.attach(fresh, 8))))
        const seesC = Effect.map(fromB, (h) => Option.getOrNull(h)?.replicaId === "c")
        if (engine.name === "postgres") {
          assert.isBelow((yield* within(700, seesC)) ?? Infinity, 700, "B forgets A on the signal, before its 1 s")
          const closed = yield* within(1_500, Effect.sync(() => stale.closedWith.length > 0))
          assert.isDefined(closed, "A closes the link C's claim replaced")
          assert.deepStrictEqual(stale.closedWith, [TunnelClose.replaced])
          assert.deepStrictEqual(fresh.closedWith, [])
          const onA = on(a, Effect.flatMap(RelayRouter, (r) => r.elsewhere("alice", "laptop")))
          assert.strictEqual(Option.getOrNull(yield* onA)?.replicaId, "c")
        } else {
          // No signals on SQLite: B still believes A until a hop to A fails.
          assert.isFalse(yield* seesC)
          yield* on(b, Effect.flatMap(RelayRouter, (r) => Effect.sync(() => r.missedElsewhere("alice", "laptop"))))
          assert.isTrue(yield* seesC)
        }
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "without a signal (SQLite, or a lost LISTEN connection) the old holder's sweep finds the row taken and ends its stale link",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const a = yield* replica(at, "a", 200)
        const c = yield* replica(at, "c")
        const stale = link("alice", "laptop")
        const other = link("alice", "desk")
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(stale, 8))))
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(other, 8))))
        const fresh = link("alice", "laptop")
        assert.isTrue(yield* on(c, Effect.flatMap(RelayRouter, (r) => r.attach(fresh, 8))))
        assert.isDefined(yield* within(1_500, Effect.sync(() => stale.closedWith.length > 0)))
        assert.deepStrictEqual(stale.closedWith, [TunnelClose.replaced])
        // Only the tunnel another replica took: A's other tunnel, and C's new one, stay.
        yield* Effect.sleep("500 millis")
        assert.deepStrictEqual([other.closedWith, fresh.closedWith], [[], []])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a key revoked by any writer on the store (the CLI's way: no router, no replica) ends its tunnel on a replica at once on PostgreSQL",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const a = yield* replica(at, "a")
        const cli = yield* Layer.build(RelayLiveOn(storeAt(at)))
        const minted = yield* Effect.provide(Effect.flatMap(ApiKeys, (k) => k.create("alice")), cli)
        const revoked = link("alice", "laptop", minted.record.key_id)
        const kept = link("alice", "desk")
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(revoked, 8))))
        assert.isTrue(yield* on(a, Effect.flatMap(RelayRouter, (r) => r.attach(kept, 8))))
        yield* Effect.provide(Effect.flatMap(ApiKeys, (k) => k.revoke(minted.record.key_id)), cli)
        const closed = yield* within(1_000, Effect.sync(() => revoked.closedWith.length > 0))
        if (engine.name === "postgres") {
          assert.isDefined(closed, "closed on the store's signal")
          assert.deepStrictEqual(revoked.closedWith, [TunnelClose.revoked])
        } else {
          // SQLite has no signals: the router's periodic check (here every 60 s) is what ends it.
          assert.isUndefined(closed)
        }
        assert.deepStrictEqual(kept.closedWith, [])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live("a newer claim takes over; the old holder's release leaves it alone", () =>
    Effect.gen(function*() {
      const at = yield* engine.fresh
      const a = yield* lone(at, "a", { leaseMs: 60_000, renewMs: 60_000 })
      const b = yield* lone(at, "b", { leaseMs: 60_000, renewMs: 60_000 })
      const holder = Effect.flatMap(TunnelDirectory, (d) => d.holder("alice", "laptop"))
      yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.claim("alice", "laptop")), a)
      yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.claim("alice", "laptop")), b)
      yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.release("alice", "laptop")), a)
      assert.strictEqual(Option.getOrNull(yield* Effect.provide(holder, a))?.replicaId, "b")
    }).pipe(Effect.scoped), 60_000)

  it.live(
    "leases: renewed while the holder lives, lapsed within the lease when it stops renewing, gone on a clean stop",
    () =>
      Effect.gen(function*() {
        const at = yield* engine.fresh
        const holder = Effect.flatMap(TunnelDirectory, (d) => d.holder("alice", "laptop"))
        const claim = Effect.flatMap(TunnelDirectory, (d) => d.claim("alice", "laptop"))
        const renewing = yield* lone(at, "renewing", { leaseMs: 400, renewMs: 100 })
        yield* Effect.provide(claim, renewing)
        yield* Effect.sleep("1 second")
        assert.strictEqual(Option.getOrNull(yield* Effect.provide(holder, renewing))?.replicaId, "renewing")
        // A holder that stops renewing (as a SIGKILLed one does) is no longer believed after the lease.
        const silent = yield* lone(at, "silent", { leaseMs: 400, renewMs: 60_000 })
        yield* Effect.provide(claim, silent)
        assert.strictEqual(Option.getOrNull(yield* Effect.provide(holder, silent))?.replicaId, "silent")
        yield* Effect.sleep("600 millis")
        assert.isTrue(Option.isNone(yield* Effect.provide(holder, silent)))
        assert.deepStrictEqual(
          yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.held("alice")), silent),
          []
        )
        // A clean stop deletes the replica's rows at once.
        const stopping = yield* Effect.scoped(Effect.gen(function*() {
          const c = yield* lone(at, "clean", { leaseMs: 60_000, renewMs: 60_000 })
          yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.claim("bob", "desk")), c)
          return Option.getOrNull(
            yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.holder("bob", "desk")), c)
          )
        }))
        assert.strictEqual(stopping?.replicaId, "clean")
        const after = yield* Effect.provide(Effect.flatMap(TunnelDirectory, (d) => d.holder("bob", "desk")), renewing)
        assert.isTrue(Option.isNone(after))
      }).pipe(Effect.scoped),
    60_000
  )
})
