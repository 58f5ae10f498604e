import { NodeContext } from "@effect/platform-node"
import { SqlClient, SqlError } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import { relayMigrations } from "./RelayStoreLive.js"

/** Any fixed number, the same in every replica: the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 0x72656c61

const INT8_OID = 20

/**
 * Epoch milliseconds are BIGINT; node-postgres reads BIGINT as a string. They fit a double
 * (2^53 ms is year 287,396), so they come back as numbers, as SQLite gives them.
 */
const types = {
  getTypeParser:
    ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID && format !== "binary" ? Number : Pg.types.getTypeParser(oid, format)) as Pg.CustomTypesConfig[
        "getTypeParser"
      ]
}

/**
 * Replicas starting together would race in the migrator (its table is created outside its
 * lock, and two creators collide): each holds a session advisory lock, on one reserved
 * connection, around the whole run, so the first migrates and the others find it done.
 */
const migrateLocked = Effect.scoped(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const connection = yield* sql.reserve
  yield* Effect.acquireRelease(
    connection.executeRaw(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`, []),
    () => Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`, []))
  )
  return yield* PgMigrator.run({ loader: relayMigrations })
}))

/** Where the store is, for messages: host, port and database, never the credentials. */
const describe = (url: Redacted.Redacted<string>) => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "the --database-url"
  }
}

/** The relay's store on PostgreSQL: what several replicas share. Migrated on start. */
export const RelayStorePg = (url: Redacted.Redacted<string>) =>
  Layer.effectDiscard(migrateLocked).pipe(
    Layer.provideMerge(PgClient.layer({ url, types, applicationName: "repowire-relay" })),
    Layer.provide(NodeContext.layer),
    // The client says only "Failed to connect": name the server and the reason (refused, auth, ...).
    Layer.mapError((error) =>
      error._tag === "SqlError"
        ? new SqlError.SqlError({
          cause: error.cause,
          message: `PostgreSQL at ${describe(url)}: ${error.message}: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`
        })
        : error
    )
  )
