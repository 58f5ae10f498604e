import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Runtime } from "effect"
import { ClusterSignals } from "../services/ClusterSignals.js"
import { MeshDirectory } from "../services/MeshDirectory.js"
import { type ReplicaDirectory, TunnelDirectory, type TunnelHolder } from "../services/TunnelDirectory.js"
import { HolderCache } from "./TunnelHolderCache.js"

export interface Lease {
  /** A row not renewed for this long is no longer believed. */
  readonly leaseMs: number
  /** How often the holder renews all of its rows (one UPDATE). */
  readonly renewMs: number
}

/** A dead replica's tunnels lapse within 6 s; a live one renews every 2 s, so two renewals may fail. */
export const defaultLease: Lease = { leaseMs: 6_000, renewMs: 2_000 }

/**
 * How long a forwarding replica believes a holder it looked up, without a signal saying it
 * changed: a daemon that reconnected elsewhere is reached through its new replica within this
 * even when the store's signals are lost (and at once after a failed hop).
 */
const HOLDER_CACHE_MS = 1_000

/**
 * A directory in `table` (SQLite or PostgreSQL), whose rows' changes the store signals as
 * `moved`. The renewal timer is the lease's protocol; on a clean stop this replica's rows are
 * deleted. Leases compare wall clocks of different replicas: keep them in sync (NTP) to well
 * under the lease.
 */
const makeDirectory = (
  self: TunnelHolder,
  lease: Lease,
  name: "tunnel_directory" | "mesh_directory",
  moved: "TunnelMoved" | "MeshMoved"
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const table = sql(name)
    const runtime = yield* Effect.runtime<never>()
    const renew = Effect.suspend(() =>
      sql`UPDATE ${table} SET expires_at = ${Date.now() + lease.leaseMs} WHERE replica_id = ${self.replicaId}`
    ).pipe(Effect.catchAllCause((cause) => Effect.logWarning(`${name}: lease renewal failed`, cause)))
    yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(() => Runtime.runFork(runtime)(renew), lease.renewMs)),
      (timer) =>
        Effect.sync(() => clearInterval(timer)).pipe(
          Effect.zipRight(sql`DELETE FROM ${table} WHERE replica_id = ${self.replicaId}`),
          Effect.catchAllCause(() => Effect.void)
        )
    )

    const claim = Effect.fn("ReplicaDirectory.claim")(function*(userId: string, daemonId: string) {
      yield* sql`INSERT INTO ${table} (user_id, daemon_id, replica_id, internal_url, expires_at)
          VALUES (${userId}, ${daemonId}, ${self.replicaId}, ${self.internalUrl}, ${Date.now() + lease.leaseMs})
          ON CONFLICT (user_id, daemon_id) DO UPDATE SET replica_id = excluded.replica_id,
            internal_url = excluded.internal_url, expires_at = excluded.expires_at`
    }, Effect.orDie)

    const release = Effect.fn("ReplicaDirectory.release")(function*(userId: string, daemonId: string) {
      yield* sql`DELETE FROM ${table}
          WHERE user_id = ${userId} AND daemon_id = ${daemonId} AND replica_id = ${self.replicaId}`
    }, Effect.orDie)

    const lookup = (userId: string, daemonId: string) =>
      Effect.map(
        sql<{ replica_id: string; internal_url: string; expires_at: number }>`
          SELECT replica_id, internal_url, expires_at FROM ${table}
          WHERE user_id = ${userId} AND daemon_id = ${daemonId} AND expires_at > ${Date.now()}`,
        (rows) => Option.fromNullable(rows[0])
      ).pipe(Effect.orDie)
    const asHolder = (r: { replica_id: string; internal_url: string }): TunnelHolder => ({
      replicaId: r.replica_id,
      internalUrl: r.internal_url
    })

    const holderNow = (userId: string, daemonId: string) => Effect.map(lookup(userId, daemonId), Option.map(asHolder))

    const cache = new HolderCache()
    const holder = (userId: string, daemonId: string) =>
      Effect.suspend(() => {
        const now = Date.now()
        const known = cache.get(userId, daemonId, now)
        if (known !== undefined) return Effect.succeed(known)
        const epoch = cache.epoch
        return Effect.map(lookup(userId, daemonId), (row) => {
          const found = Option.map(row, asHolder)
          const until = Math.min(
            now + HOLDER_CACHE_MS,
            Option.match(row, { onNone: () => Infinity, onSome: (r) => r.expires_at })
          )
          cache.set(userId, daemonId, found, until, epoch)
          return found
        })
      })
    const signals = yield* Effect.serviceOption(ClusterSignals)
    if (Option.isSome(signals)) {
      yield* signals.value.subscribe((signal) => {
        if (signal._tag === moved) cache.forget(signal.user_id, signal.daemon_id)
      })
    }

    const mine = Effect.map(
      sql<{ user_id: string; daemon_id: string }>`
          SELECT user_id, daemon_id FROM ${table} WHERE replica_id = ${self.replicaId}`,
      (rows) => rows.map((r) => ({ userId: r.user_id, daemonId: r.daemon_id }))
    ).pipe(Effect.orDie)

    const held = Effect.fn("ReplicaDirectory.held")(function*(userId: string) {
      const rows = yield* sql<{ daemon_id: string }>`
          SELECT daemon_id FROM ${table} WHERE user_id = ${userId} AND expires_at > ${Date.now()}`
      return rows.map((r) => r.daemon_id)
    }, Effect.orDie)

    return {
      self,
      claim,
      release,
      holder,
      holderNow,
      forget: (userId, daemonId) => cache.forget(userId, daemonId),
      mine,
      held
    } satisfies ReplicaDirectory
  })

/** The tunnel directory, in the `tunnel_directory` table. */
export const TunnelDirectoryLive = (self: TunnelHolder, lease: Lease = defaultLease) =>
  Layer.scoped(TunnelDirectory, makeDirectory(self, lease, "tunnel_directory", "TunnelMoved"))

/** The directory of daemons' mesh sockets, in the `mesh_directory` table. */
export const MeshDirectoryLive = (self: TunnelHolder, lease: Lease = defaultLease) =>
  Layer.scoped(MeshDirectory, makeDirectory(self, lease, "mesh_directory", "MeshMoved"))
