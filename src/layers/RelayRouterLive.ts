import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Runtime } from "effect"
import { type DaemonSeen, RelayRouter, type TunnelLink } from "../services/RelayRouter.js"

export interface KeepaliveOptions {
  /** How often each tunnel is pinged. */
  readonly intervalMs: number
  /** A tunnel silent for this long is dropped. */
  readonly deadAfterMs: number
}

/**
 * Live tunnels in memory (they are sockets), daemons seen in SQLite. One sweep timer pings
 * every tunnel, so an idle tunnel costs no timer of its own.
 */
export const RelayRouterLive = (keepalive: KeepaliveOptions = { intervalMs: 10_000, deadAfterMs: 25_000 }) =>
  Layer.scoped(
    RelayRouter,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const byUser = new Map<string, Map<string, TunnelLink>>()
      const all = () => [...byUser.values()].flatMap((m) => [...m.values()])

      // Keys revoked by another process (`relay keys revoke` on the same data dir) end their tunnels here.
      let checkedAt = new Date().toISOString()
      const revokedKeys = Effect.gen(function*() {
        if (byUser.size === 0) return
        const since = checkedAt
        checkedAt = new Date().toISOString()
        const rows = yield* sql<{ key_id: string }>`SELECT key_id FROM api_keys WHERE revoked_at >= ${since}`
        rows.forEach((r) => all().filter((l) => l.info.keyId === r.key_id).forEach((l) => l.close(4003, "key revoked")))
      }).pipe(Effect.catchAllCause(() => Effect.void))
      const runtime = yield* Effect.runtime<never>()
      const sweep = () => {
        const now = Date.now()
        all().forEach((t) => t.keepalive(now, keepalive.deadAfterMs))
        Runtime.runFork(runtime)(revokedKeys)
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => setInterval(sweep, keepalive.intervalMs)),
        (timer) => Effect.sync(() => clearInterval(timer))
      )

      const seen = (userId: string, daemonId: string) =>
        sql`INSERT INTO daemons (user_id, daemon_id, last_seen) VALUES (${userId}, ${daemonId}, ${new Date().toISOString()})
            ON CONFLICT (user_id, daemon_id) DO UPDATE SET last_seen = excluded.last_seen`.pipe(Effect.orDie)

      const attach = Effect.fn("RelayRouter.attach")(function*(link: TunnelLink) {
        const { daemonId, userId } = link.info
        const mine = byUser.get(userId) ?? new Map<string, TunnelLink>()
        byUser.set(userId, mine)
        const previous = mine.get(daemonId)
        mine.set(daemonId, link)
        if (previous !== undefined && previous !== link) previous.close(4001, "replaced by a newer connection")
        yield* seen(userId, daemonId)
      })

      const detach = Effect.fn("RelayRouter.detach")(function*(link: TunnelLink) {
        const mine = byUser.get(link.info.userId)
        if (mine?.get(link.info.daemonId) === link) {
          mine.delete(link.info.daemonId)
          if (mine.size === 0) byUser.delete(link.info.userId)
          yield* seen(link.info.userId, link.info.daemonId)
        }
      })

      const find = (userId: string, daemonId: string) =>
        Effect.sync(() => Option.fromNullable(byUser.get(userId)?.get(daemonId)).pipe(Option.filter((l) => l.isOpen)))

      const daemons = Effect.fn("RelayRouter.daemons")(function*(userId: string) {
        const rows = yield* sql<{ daemon_id: string; last_seen: string }>`
          SELECT daemon_id, last_seen FROM daemons WHERE user_id = ${userId} ORDER BY last_seen DESC`.pipe(Effect.orDie)
        const live = byUser.get(userId) ?? new Map<string, TunnelLink>()
        const list: Array<DaemonSeen> = rows.map((r) => ({
          daemon_id: r.daemon_id,
          connected: live.get(r.daemon_id)?.isOpen ?? false,
          last_seen: r.last_seen
        }))
        return list.sort((a, b) => Number(b.connected) - Number(a.connected))
      })

      const closeKey = (keyId: string, reason: string) =>
        Effect.sync(() => {
          const links = all().filter((l) => l.info.keyId === keyId)
          links.forEach((l) => l.close(4003, reason))
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

      return RelayRouter.of({ attach, detach, find, daemons, closeKey, drainAll, closeAll, counts })
    })
  )
