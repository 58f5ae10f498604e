import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { AuditLive } from "../../layers/audit/AuditLive.js"
import { RelayLiveOn } from "../../layers/RelayLive.js"
import { defaultRetention } from "../../layers/RelayRouterLive.js"
import { relayStoreLayer } from "../../layers/RelayStore.js"
import { resolvePaths } from "../../protocol/HomeFiles.js"
import { defaultRelayOptions, type RelayOptions } from "./RelayContext.js"
import { makeRelayServer } from "./RelayServer.js"

/** `$REPOWIRE_HOME/relay` unless given, created 0700: the SQLite store and the audit key live there. */
export const relayDataDir = (dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env) =>
  Effect.sync(() => {
    const dir = path.resolve(dataDir ?? path.join(resolvePaths(env).home, "relay"))
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
    return dir
  })

/** The SQLite file in the relay's data dir, created 0600. */
export const relayDatabase = (dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env) =>
  Effect.map(relayDataDir(dataDir, env), (dir) => {
    const file = path.join(dir, "relay.db")
    // Created 0600 before SQLite opens it: it holds key digests and session digests.
    fs.closeSync(fs.openSync(file, "a", 0o600))
    fs.chmodSync(file, 0o600)
    return file
  })

export interface StoreOptions {
  readonly dataDir?: string | undefined
  /** PostgreSQL shared by replicas; otherwise SQLite under dataDir. */
  readonly databaseUrl?: Redacted.Redacted<string> | undefined
  /** How the other replicas reach this one (`--internal-url`); with `cluster`, makes it a replica. */
  readonly internalUrl?: string | undefined
}

/** Where the store is, for the log line: the SQLite file, or the PostgreSQL host without credentials. */
const storeName = (options: StoreOptions) => {
  if (options.databaseUrl === undefined) return Effect.map(relayDatabase(options.dataDir), (file) => `data: ${file}`)
  const url = new URL(Redacted.value(options.databaseUrl))
  return Effect.succeed(`store: postgres ${url.hostname}:${url.port || "5432"}${url.pathname}`)
}

/** Runs the relay until interrupted (SIGINT/SIGTERM), then drains and closes. */
export const serveRelay = (
  options: Partial<RelayOptions> & StoreOptions & {
    /** Audit records older than this are dropped behind a signed cut. */
    readonly auditRetainMs?: number | undefined
  }
) =>
  Effect.gen(function*() {
    const resolved = { ...defaultRelayOptions, ...options }
    const retention = { ...defaultRetention, ttlMs: resolved.daemonTtlMs }
    const store = relayStoreLayer({ databaseUrl: options.databaseUrl, sqliteFile: relayDatabase(options.dataDir) })
    // A fresh id per process: a replica restarted on the same URL never renews its predecessor's leases.
    const replica = resolved.cluster === undefined || options.internalUrl === undefined
      ? undefined
      : { replicaId: randomUUID(), internalUrl: options.internalUrl }
    const keyDir = yield* relayDataDir(options.dataDir)
    return yield* Effect.gen(function*() {
      const server = yield* makeRelayServer(resolved)
      const role = replica === undefined ? "" : `, replica reached at ${replica.internalUrl}`
      yield* Effect.logInfo(`repowire relay listening on ${server.url} (${yield* storeName(options)}${role})`)
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.provide(
        AuditLive(keyDir, {
          retainMs: options.auditRetainMs,
          worker: {
            databaseUrl: options.databaseUrl === undefined ? undefined : Redacted.value(options.databaseUrl),
            sqliteFile: path.join(keyDir, "relay.db")
          }
        }).pipe(
          Layer.provideMerge(RelayLiveOn(store, undefined, retention, replica))
        )
      )
    )
  })
