import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Layer, Option, Runtime } from "effect"
import type { ClusterSignal } from "../protocol/ClusterSignal.js"
import { TunnelClose } from "../protocol/TunnelClose.js"
import { ClusterSignals } from "../services/ClusterSignals.js"
import { type DaemonSeen, type KeyHolders, RelayRouter, type TunnelLink } from "../services/RelayRouter.js"
import { TunnelDirectory } from "../services/TunnelDirectory.js"

export interface KeepaliveOptions {
  /** How often each tunnel is pinged. */
  readonly intervalMs: number
  /** A tunnel silent for this long is dropped. */
  readonly deadAfterMs: number
}

/** How long the relay remembers daemon ids, and how many per user. */
export interface DaemonRetention {
  /** A daemon id not seen for this long is forgotten. */
  readonly ttlMs: number
  /** A user's daemon ids beyond this many, least recently seen first, are forgotten. */
  readonly maxPerUser: number
}

export const defaultRetention: DaemonRetention = { ttlMs: 30 * 86_400_000, maxPerUser: 64 }

/**
 * Live tunnels in memory (they are sockets), daemons seen in SQLite. One sweep timer pings
 * every tunnel, so an idle tunnel costs no timer of its own.
 */
export const RelayRouterLive = (
  keepalive: KeepaliveOptions = { intervalMs: 10_000, deadAfterMs: 25_000 },
  retention: DaemonRetention = defaultRetention
) =>
  Layer.scoped(
    RelayRouter,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // With several replicas, the directory says which one holds each tunnel; alone, nothing else does.
      const directory = yield* Effect.serviceOption(TunnelDirectory)
      const claim = (userId: string, daemonId: string) =>
        Option.match(directory, { onNone: () => Effect.void, onSome: (d) => d.claim(userId, daemonId) })
      const release = (userId: string, daemonId: string) =>
        Option.match(directory, { onNone: () => Effect.void, onSome: (d) => d.release(userId, daemonId) })
      const byUser = new Map<string, Map<string, TunnelLink>>()
      const byKey = new Map<string, Set<TunnelLink>>()
      const all = () => [...byUser.values()].flatMap((m) => [...m.values()])
      const holders = new Set<KeyHolders>()
      const holdKeys = (more: KeyHolders) =>
        Effect.acquireRelease(Effect.sync(() => holders.add(more)), () => Effect.sync(() => holders.delete(more)))

      // Keys revoked by another process (`relay keys revoke` on the same data dir) end their tunnels here.
      let checkedAt = new Date().toISOString()
      const revokedKeys = Effect.gen(function*() {
        if (byUser.size === 0 && ![...holders].some((h) => h.active())) return
        const since = checkedAt
        checkedAt = new Date().toISOString()
        const rows = yield* sql<{ key_id: string }>`SELECT key_id FROM api_keys WHERE revoked_at >= ${since}`
        rows.forEach((r) => {
          all().filter((l) => l.info.keyId === r.key_id).forEach((l) => l.close(TunnelClose.revoked, "key revoked"))
          holders.forEach((h) => h.closeKey(r.key_id, "key revoked"))
        })
      }).pipe(Effect.catchAllCause(() => Effect.void))
      const runtime = yield* Effect.runtime<never>()

      // Each tunnel's directory claim, done or in flight: a signal that another replica claimed
      // the same tunnel is judged only after this replica's own claim is in the store.
      const claims = new WeakMap<TunnelLink, Deferred.Deferred<void>>()
      const settled = new WeakSet<TunnelLink>()

      /**
       * Another replica claimed a tunnel this one holds: the daemon reconnected there, and this
       * link is stale (half-open, its socket not yet known dead). It is closed, so requests here
       * go to the new holder instead of into a dead socket. Claims are serialised by the store:
       * if the row names another replica after this replica's own claim landed, that one is newer.
       */
      const movedAway = (userId: string, daemonId: string) =>
        Effect.gen(function*() {
          const link = byUser.get(userId)?.get(daemonId)
          if (link === undefined || Option.isNone(directory)) return
          const claimed = claims.get(link)
          if (claimed !== undefined) yield* Deferred.await(claimed)
          const now = yield* directory.value.holderNow(userId, daemonId)
          if (Option.isNone(now) || now.value.replicaId === directory.value.self.replicaId) return
          if (byUser.get(userId)?.get(daemonId) !== link) return
          link.close(TunnelClose.replaced, "replaced: the daemon reconnected through another relay replica")
        })

      // The same found by the sweep, should a signal be lost: rows no longer naming this replica.
      const claimedElsewhere = Effect.gen(function*() {
        if (byUser.size === 0 || Option.isNone(directory)) return
        const judged = all().filter((l) => settled.has(l))
        const mine = new Set((yield* directory.value.mine).map((t) => `${t.userId}\u0000${t.daemonId}`))
        const lost = judged.filter((l) => !mine.has(`${l.info.userId}\u0000${l.info.daemonId}`))
        yield* Effect.forEach(lost, (l) => movedAway(l.info.userId, l.info.daemonId), { discard: true })
      }).pipe(Effect.catchAllCause(() => Effect.void))

      const sweep = () => {
        const now = Date.now()
        all().forEach((t) => t.keepalive(now, keepalive.deadAfterMs))
        Runtime.runFork(runtime)(revokedKeys)
        Runtime.runFork(runtime)(claimedElsewhere)
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => setInterval(sweep, keepalive.intervalMs)),
        (timer) => Effect.sync(() => clearInterval(timer))
      )

      const onSignal = (signal: ClusterSignal) => {
        if (signal._tag === "KeyRevoked") return void Runtime.runFork(runtime)(closeKey(signal.key_id, "key revoked"))
        if (signal._tag !== "TunnelMoved") return
        const self = Option.map(directory, (d) => d.self.replicaId)
        if (signal.replica_id === null || Option.contains(self, signal.replica_id)) return
        if (byUser.get(signal.user_id)?.has(signal.daemon_id) !== true) return
        Runtime.runFork(runtime)(movedAway(signal.user_id, signal.daemon_id))
      }

      const cutoff = () => new Date(Date.now() - retention.ttlMs).toISOString()

      // Clean-up is lazy: when a daemon comes or goes, ids past the TTL (anyone's) and the user's
      // oldest beyond the cap are forgotten; no timer sweeps the table.
      const seen = (userId: string, daemonId: string) =>
        Effect.all([
          sql`INSERT INTO daemons (user_id, daemon_id, last_seen) VALUES (${userId}, ${daemonId}, ${
            new Date().toISOString()
          })
              ON CONFLICT (user_id, daemon_id) DO UPDATE SET last_seen = excluded.last_seen`,
          sql`DELETE FROM daemons WHERE last_seen < ${cutoff()}`,
          sql`DELETE FROM daemons WHERE user_id = ${userId} AND daemon_id NOT IN (
                SELECT daemon_id FROM daemons WHERE user_id = ${userId} ORDER BY last_seen DESC LIMIT ${retention.maxPerUser})`
        ], { discard: true }).pipe(Effect.orDie)

      const attach = Effect.fn("RelayRouter.attach")(function*(link: TunnelLink, maxPerKey: number) {
        const { daemonId, keyId, userId } = link.info
        const mine = byUser.get(userId) ?? new Map<string, TunnelLink>()
        const previous = mine.get(daemonId)
        const sameKey = byKey.get(keyId) ?? new Set<TunnelLink>()
        const others = sameKey.size - (previous !== undefined && sameKey.has(previous) ? 1 : 0)
        if (others >= maxPerKey) {
          link.close(TunnelClose.tooManyTunnels, `too_many_tunnels: this key already has ${maxPerKey} tunnels open`)
          return false
        }
        byUser.set(userId, mine)
        byKey.set(keyId, sameKey.add(link))
        mine.set(daemonId, link)
        if (previous !== undefined && previous !== link) {
          previous.close(TunnelClose.replaced, "replaced by a newer connection")
        }
        const claimed = yield* Deferred.make<void>()
        claims.set(link, claimed)
        yield* Effect.ensuring(
          Effect.zipRight(seen(userId, daemonId), claim(userId, daemonId)),
          Effect.zipRight(Deferred.succeed(claimed, undefined), Effect.sync(() => settled.add(link)))
        )
        return true
      })

      const detach = Effect.fn("RelayRouter.detach")(function*(link: TunnelLink) {
        const sameKey = byKey.get(link.info.keyId)
        if (sameKey?.delete(link) === true && sameKey.size === 0) byKey.delete(link.info.keyId)
        const mine = byUser.get(link.info.userId)
        if (mine?.get(link.info.daemonId) === link) {
          mine.delete(link.info.daemonId)
          if (mine.size === 0) byUser.delete(link.info.userId)
          yield* seen(link.info.userId, link.info.daemonId)
          yield* release(link.info.userId, link.info.daemonId)
        }
      })

      const findNow = (userId: string, daemonId: string) =>
        Option.fromNullable(byUser.get(userId)?.get(daemonId)).pipe(Option.filter((l) => l.isOpen))
      const find = (userId: string, daemonId: string) => Effect.sync(() => findNow(userId, daemonId))

      const elsewhere = (userId: string, daemonId: string) =>
        Option.match(directory, {
          onNone: () => Effect.succeedNone,
          onSome: (d) => Effect.map(d.holder(userId, daemonId), Option.filter((h) => h.replicaId !== d.self.replicaId))
        })

      const missedElsewhere = (userId: string, daemonId: string) => {
        if (Option.isSome(directory)) directory.value.forget(userId, daemonId)
      }

      const daemons = Effect.fn("RelayRouter.daemons")(function*(userId: string) {
        const rows = yield* sql<{ daemon_id: string; last_seen: string }>`
          SELECT daemon_id, last_seen FROM daemons WHERE user_id = ${userId} AND last_seen >= ${cutoff()}
          ORDER BY last_seen DESC`.pipe(Effect.orDie)
        const live = byUser.get(userId) ?? new Map<string, TunnelLink>()
        const remote = new Set(Option.isSome(directory) ? yield* directory.value.held(userId) : [])
        const list: Array<DaemonSeen> = rows.map((r) => ({
          daemon_id: r.daemon_id,
          connected: (live.get(r.daemon_id)?.isOpen ?? false) || remote.has(r.daemon_id),
          last_seen: r.last_seen
        }))
        // A tunnel open for longer than the TTL is still listed, though its row was forgotten.
        for (const [daemonId, link] of live) {
          if (!rows.some((r) => r.daemon_id === daemonId)) {
            list.push({ daemon_id: daemonId, connected: link.isOpen, last_seen: link.connectedAt })
          }
        }
        return list.sort((a, b) => Number(b.connected) - Number(a.connected))
      })

      const closeKey = (keyId: string, reason: string) =>
        Effect.sync(() => {
          const links = all().filter((l) => l.info.keyId === keyId)
          links.forEach((l) => l.close(TunnelClose.revoked, reason))
          holders.forEach((h) => h.closeKey(keyId, reason))
          return links.length
        })

      const drainAll = (reason: string) => Effect.sync(() => all().forEach((l) => l.goAway(reason)))

      const closeAll = (reason: string) => Effect.sync(() => all().forEach((l) => l.close(1001, reason)))

      const counts = Effect.sync(() => {
        const links = all()
        return {
          tunnels: links.length,
          streams: links.reduce((n, l) => n + l.activeStreams, 0),
          queuedBytes: links.reduce((n, l) => n + l.queuedBytes, 0)
        }
      })

      // Last, once every member the listener calls exists.
      const signals = yield* Effect.serviceOption(ClusterSignals)
      if (Option.isSome(signals)) yield* signals.value.subscribe(onSignal)

      return RelayRouter.of({
        attach,
        detach,
        find,
        findNow,
        elsewhere,
        missedElsewhere,
        daemons,
        closeKey,
        holdKeys,
        drainAll,
        closeAll,
        counts
      })
    })
  )
