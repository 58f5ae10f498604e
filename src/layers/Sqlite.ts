import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { Config } from "../services/Config.js"
import { migrations } from "./Migrations.js"

const pragmas = Layer.effectDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`PRAGMA journal_mode = WAL`
    // NORMAL in WAL mode: a committed transaction survives the process being killed.
    yield* sql`PRAGMA synchronous = NORMAL`
    yield* sql`PRAGMA busy_timeout = 5000`
  }).pipe(Effect.orDie)
)

const prepared = (client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, unknown>) =>
  SqliteMigrator.layer({ loader: migrations, table: "repowire_migrations" }).pipe(
    Layer.provideMerge(pragmas),
    Layer.provideMerge(client),
    Layer.provide(NodeContext.layer),
    Layer.orDie
  )

/** The daemon's state: $REPOWIRE_HOME/state.db, WAL, migrated on open. */
export const SqliteLive = Layer.unwrapEffect(
  Effect.map(Config, ({ paths }) => prepared(SqliteClient.layer({ filename: paths.stateDb })))
)

/** The same store in memory, for unit tests. */
export const SqliteMemory = prepared(SqliteClient.layer({ filename: ":memory:" }))
