import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { relayStoreLayer } from "../../src/layers/RelayStore.js"
import { type PostgresServer, startPostgres } from "./Postgres.js"

/** Where one test's store is: a SQLite file, or a fresh PostgreSQL database. */
export interface StoreLocation {
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  readonly file: string
}

export interface StoreEngine {
  readonly name: "sqlite" | "postgres"
  /** A fresh, empty store: the location several "replicas" of one test share. */
  readonly fresh: Effect.Effect<StoreLocation>
}

/**
 * The relay store's two engines for a `describe.each`: SQLite (a file, as the relay runs it) and
 * PostgreSQL (one real server for the test file, a fresh database per test). Call it at the top
 * level of a test file: it starts and stops the server with the file.
 */
export const storeEngines = (prefix: string): ReadonlyArray<StoreEngine> => {
  let server: PostgresServer | undefined
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  })
  return [
    {
      name: "sqlite",
      fresh: Effect.sync(() => ({
        databaseUrl: undefined,
        file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), "relay.db")
      }))
    },
    {
      name: "postgres",
      fresh: Effect.promise(() => server!.createDatabase()).pipe(
        Effect.map((url) => ({ databaseUrl: Redacted.make(url), file: "/nonexistent-sqlite-file" }))
      )
    }
  ]
}

/** One process's connection to the store at `at`: two of these on one store are two replicas. */
export const storeAt = (at: StoreLocation) =>
  relayStoreLayer({ databaseUrl: at.databaseUrl, sqliteFile: Effect.succeed(at.file) })
