import { SqlClient } from "@effect/sql"
import BetterSqlite from "better-sqlite3"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { Audit } from "../services/Audit.js"
import { type RelaySession, RelaySessions } from "../services/RelaySessions.js"

const digestOf = (id: string) => createHash("sha256").update(id).digest("hex")

/** What a session id minted by `create` looks like (32 random bytes, base64url): anything else is no session. */
const validId = (id: string) => /^[A-Za-z0-9_-]{43}$/.test(id)

const SELECT_SESSION = "SELECT user_id, key_id, daemon_id, expires_at FROM sessions WHERE digest = ?"

/**
 * Every proxied browser request looks its session up. Through @effect/sql that costs ~100 µs
 * (statement compile, cache, semaphore); a prepared statement on a read-only connection to the
 * same file costs a few, and still sees every committed write, this process's or the CLI's.
 * An in-memory database has no second connection, so it stays on the SQL client, as does PostgreSQL.
 */
const sessionReader = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ sqlite: () => sqliteReader(sql), orElse: () => Effect.succeed(undefined) })

const sqliteReader = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    const rows = yield* sql<{ file: string }>`SELECT file FROM pragma_database_list WHERE name = 'main'`
    const file = rows[0]?.file ?? ""
    if (file === "") return undefined
    const db = yield* Effect.acquireRelease(
      Effect.sync(() => new BetterSqlite(file, { readonly: true, fileMustExist: true })),
      (db) => Effect.sync(() => db.close())
    )
    db.pragma("busy_timeout = 5000")
    const statement = db.prepare<[string], RelaySession>(SELECT_SESSION)
    return (digest: string): RelaySession | undefined => statement.get(digest)
  }).pipe(Effect.orDie)

type EndedRow = Pick<RelaySession, "user_id" | "key_id" | "expires_at">

/**
 * `session_ended` for sessions the store drops itself (the relay's sign-out records its own,
 * with the client's address). The audit log is read at call time: it is the caller's runtime
 * that carries it, and it is off where none is provided.
 */
const auditEnded = (rows: ReadonlyArray<EndedRow>, reason: "expired" | "key_revoked") =>
  rows.length === 0 ? Effect.void : Effect.map(Audit, (audit) => {
    if (!audit.enabled) return
    for (const row of rows) {
      audit.record({
        kind: "session_ended",
        user_id: row.user_id,
        detail: { key_id: row.key_id, reason, expires_at: new Date(Number(row.expires_at)).toISOString() }
      })
    }
  })

export const RelaySessionsLive = Layer.scoped(
  RelaySessions,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const reader = yield* sessionReader(sql)
    const lookup = (digest: string) =>
      reader === undefined
        ? Effect.map(
          sql<RelaySession>`
            SELECT user_id, key_id, daemon_id, expires_at FROM sessions WHERE digest = ${digest}`,
          (rows) => rows[0]
        )
        : Effect.sync(() => reader(digest))

    const create = Effect.fn("RelaySessions.create")(function*(userId: string, keyId: string, ttl: Duration.Duration) {
      const id = randomBytes(32).toString("base64url")
      const expiresAt = Date.now() + Duration.toMillis(ttl)
      // Expired sessions nobody presented again end here, at the next sign-in on this store.
      yield* Effect.flatMap(
        sql<EndedRow>`DELETE FROM sessions WHERE expires_at < ${Date.now()} RETURNING user_id, key_id, expires_at`,
        (rows) => auditEnded(rows, "expired")
      )
      yield* sql`INSERT INTO sessions ${
        sql.insert({ digest: digestOf(id), user_id: userId, key_id: keyId, daemon_id: null, expires_at: expiresAt })
      }`
      return { id: Redacted.make(id), expiresAt }
    }, Effect.orDie)

    const getNow = (id: string, now: number): Option.Option<RelaySession> | undefined => {
      if (!validId(id)) return Option.none()
      if (reader === undefined) return undefined
      const row = reader(digestOf(id))
      if (row === undefined) return Option.none()
      return row.expires_at > now ? Option.some(row) : undefined
    }

    const get = (id: string) =>
      Effect.suspend(() => {
        const known = getNow(id, Date.now())
        if (known !== undefined) return Effect.succeed(known)
        const digest = digestOf(id)
        return Effect.flatMap(lookup(digest), (row) => {
          if (row === undefined) return Effect.succeed(Option.none<RelaySession>())
          if (row.expires_at > Date.now()) return Effect.succeed(Option.some(row))
          return sql<EndedRow>`DELETE FROM sessions WHERE digest = ${digest} RETURNING user_id, key_id, expires_at`
            .pipe(
              Effect.flatMap((rows) => auditEnded(rows, "expired")),
              Effect.as(Option.none<RelaySession>())
            )
        })
      }).pipe(Effect.orDie)

    const choose = Effect.fn("RelaySessions.choose")(function*(id: string, daemonId: string) {
      yield* sql`UPDATE sessions SET daemon_id = ${daemonId} WHERE digest = ${digestOf(id)}`
    }, Effect.orDie)

    const remove = Effect.fn("RelaySessions.remove")(function*(id: string) {
      yield* sql`DELETE FROM sessions WHERE digest = ${digestOf(id)}`
    }, Effect.orDie)

    const removeByKey = Effect.fn("RelaySessions.removeByKey")(function*(keyId: string) {
      const rows = yield* sql<
        EndedRow
      >`DELETE FROM sessions WHERE key_id = ${keyId} RETURNING user_id, key_id, expires_at`
      yield* auditEnded(rows, "key_revoked")
      return rows.length
    }, Effect.orDie)

    return RelaySessions.of({ create, get, getNow, choose, remove, removeByKey })
  })
)
