import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { type RateLimit, RateLimits } from "../services/RateLimits.js"

/**
 * Fixed windows in the `rate_limits` table, on SQLite or PostgreSQL: one upsert counts the hit
 * and restarts a window that has ended, atomically, so concurrent replicas never lose a hit.
 * The same rule as the in-process RateLimiter: a window starts at a client's first hit. Ended
 * windows are deleted whenever a window starts, so the table holds about one window of clients.
 */
export const RateLimitsLive = (limit: RateLimit) =>
  Layer.effect(
    RateLimits,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

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
        if (row.hits === 1) yield* sql`DELETE FROM rate_limits WHERE window_end <= ${now}`
        return row.hits <= limit.max ? true as const : Math.ceil((Number(row.window_end) - now) / 1000)
      }, Effect.orDie)

      return RateLimits.of({ take })
    })
  )
