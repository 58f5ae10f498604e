import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { type RelaySession, RelaySessions } from "../services/RelaySessions.js"

const digestOf = (id: string) => createHash("sha256").update(id).digest("hex")

export const RelaySessionsLive = Layer.effect(
  RelaySessions,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = Effect.fn("RelaySessions.create")(function*(userId: string, keyId: string, ttl: Duration.Duration) {
      const id = randomBytes(32).toString("base64url")
      const expiresAt = Date.now() + Duration.toMillis(ttl)
      yield* sql`DELETE FROM sessions WHERE expires_at < ${Date.now()}`
      yield* sql`INSERT INTO sessions ${
        sql.insert({ digest: digestOf(id), user_id: userId, key_id: keyId, daemon_id: null, expires_at: expiresAt })
      }`
      return { id: Redacted.make(id), expiresAt }
    }, Effect.orDie)

    const get = Effect.fn("RelaySessions.get")(function*(id: string) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return Option.none<RelaySession>()
      const rows = yield* sql<RelaySession>`
        SELECT user_id, key_id, daemon_id, expires_at FROM sessions WHERE digest = ${digestOf(id)}`
      const row = rows[0]
      if (row === undefined) return Option.none<RelaySession>()
      if (row.expires_at <= Date.now()) {
        yield* sql`DELETE FROM sessions WHERE digest = ${digestOf(id)}`
        return Option.none<RelaySession>()
      }
      return Option.some(row)
    }, Effect.orDie)

    const choose = Effect.fn("RelaySessions.choose")(function*(id: string, daemonId: string) {
      yield* sql`UPDATE sessions SET daemon_id = ${daemonId} WHERE digest = ${digestOf(id)}`
    }, Effect.orDie)

    const remove = Effect.fn("RelaySessions.remove")(function*(id: string) {
      yield* sql`DELETE FROM sessions WHERE digest = ${digestOf(id)}`
    }, Effect.orDie)

    const removeByKey = Effect.fn("RelaySessions.removeByKey")(function*(keyId: string) {
      const rows = yield* sql<{ digest: string }>`DELETE FROM sessions WHERE key_id = ${keyId} RETURNING digest`
      return rows.length
    }, Effect.orDie)

    return RelaySessions.of({ create, get, choose, remove, removeByKey })
  })
)
