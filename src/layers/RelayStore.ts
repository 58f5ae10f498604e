import type { Migrator, SqlClient, SqlError } from "@effect/sql"
import { type ConfigError, Data, Effect, Layer, Redacted } from "effect"
import { RelayStoreLive } from "./RelayStoreLive.js"

export class InvalidDatabaseUrl extends Data.TaggedError("InvalidDatabaseUrl")<{ readonly message: string }> {}

export interface RelayStoreConfig {
  /** `postgres://…` (`--database-url`, REPOWIRE_RELAY__DATABASE_URL): the store replicas share. */
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  /** Otherwise the embedded SQLite file; asked for only then, so no data dir is made for PostgreSQL. */
  readonly sqliteFile: Effect.Effect<string>
}

export type RelayStore = Layer.Layer<
  SqlClient.SqlClient,
  SqlError.SqlError | Migrator.MigrationError | ConfigError.ConfigError | InvalidDatabaseUrl
>

/**
 * The relay's store: PostgreSQL when a database URL is given, else SQLite. The PostgreSQL
 * client is loaded only then, so a relay on SQLite (and every other command) never loads it.
 */
export const relayStoreLayer = (config: RelayStoreConfig): RelayStore =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const url = config.databaseUrl
    if (url === undefined) return RelayStoreLive(yield* config.sqliteFile)
    if (!/^postgres(ql)?:\/\/\S+$/.test(Redacted.value(url))) {
      return yield* new InvalidDatabaseUrl({
        message: "--database-url must be a PostgreSQL URL like postgres://user:password@host/db"
      })
    }
    const { RelayStorePg } = yield* Effect.promise(() => import("./RelayStorePg.js"))
    return RelayStorePg(url)
  }))
