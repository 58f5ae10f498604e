import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { type RateLimit, RateLimits } from "../services/RateLimits.js"

/** Clients one bucket counts at once; past it the oldest windows are forgotten (many addresses, e.g. one IPv6 prefix). */
export const MAX_CLIENTS = 10_000

/**
 * Fixed windows in the `rate_limits` table, on SQLite or PostgreSQL: one upsert counts the hit
 * and restarts a window that has ended, atomically, so concurrent replicas never lose a hit.
 * A window starts at a client's first hit. Ended windows are deleted whenever a window starts,
 * so the table holds about one window of clients, and never more than `maxClients` per bucket:
 * past it the oldest windows go (the client that just started one always stays counted).
 */
export const RateLimitsLive = (limit: RateLimit, maxClients = MAX_CLIENTS) =>
  Layer.effect(
    RateLimits,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      const bound = (bucket: string, client: string) =>
        Effect.gen(function*() {
          const [row] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = ${bucket}`
          if (Number(row?.n ?? 0) <= maxClients) return
          yield* sql`DELETE FROM rate_limits WHERE bucket = ${bucket} AND client <> ${client} AND window_end <= (
            SELECT window_end FROM rate_limits WHERE bucket = ${bucket}
            ORDER BY window_end DESC LIMIT 1 OFFSET ${maxClients})`
        })

      const take = Effect.fn("RateLimits.take")(function*(bucket: string, client: string) {
        const now = yield* Clock.currentTimeMillis
        const rows = yield* sql<{ hits: number; window_end: number }>`
          INSERT INTO rate_limits (bucket, client, window_end, hits) VALUES (${bucket}, ${client}, ${
          now + limit.windowMs
        }, 1)
          ON CONFLICT (bucket, client) DO UPDATE SET
            hits = CASE WHEN rate_limits.window_end <= ${now} THEN 1 ELSE rate_limits.hits + 1 END,
            window_end = CASE WHEN rate_limits.window_end <= ${now} THEN excluded.window_end ELSE rate_limits.window_end END
          RETURNING hits, window_end`
        const row = rows[0]!
        if (row.hits === 1) {
          yield* sql`DELETE FROM rate_limits WHERE window_end <= ${now}`
          yield* bound(bucket, client)
        }
        return row.hits <= limit.max ? true as const : Math.ceil((Number(row.window_end) - now) / 1000)
      }, Effect.orDie)

      return RateLimits.of({ take })
    })
  )
