import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AuditLive } from "../../layers/audit/AuditLive.js"
import { RelayLive } from "../../layers/RelayLive.js"
import { defaultRetention } from "../../layers/RelayRouterLive.js"
import { resolvePaths } from "../../protocol/HomeFiles.js"
import { defaultRelayOptions, type RelayOptions } from "./RelayContext.js"
import { makeRelayServer } from "./RelayServer.js"

/** `$REPOWIRE_HOME/relay` unless given; created 0700. Returns the SQLite file inside it. */
export const relayDatabase = (dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env) =>
  Effect.sync(() => {
    const dir = path.resolve(dataDir ?? path.join(resolvePaths(env).home, "relay"))
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
    const file = path.join(dir, "relay.db")
    // Created 0600 before SQLite opens it: it holds key digests and session digests.
    fs.closeSync(fs.openSync(file, "a", 0o600))
    fs.chmodSync(file, 0o600)
    return file
  })

/** Runs the relay until interrupted (SIGINT/SIGTERM), then drains and closes. */
export const serveRelay = (
  options: Partial<RelayOptions> & {
    readonly dataDir?: string | undefined
    /** Audit records older than this are dropped behind a signed cut. */
    readonly auditRetainMs?: number | undefined
  }
) =>
  Effect.gen(function*() {
    const db = yield* relayDatabase(options.dataDir)
    const resolved = { ...defaultRelayOptions, ...options }
    const retention = { ...defaultRetention, ttlMs: resolved.daemonTtlMs }
    return yield* Effect.gen(function*() {
      const server = yield* makeRelayServer(resolved)
      yield* Effect.logInfo(`repowire relay listening on ${server.url} (data: ${db})`)
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.provide(
        AuditLive(path.dirname(db), { retainMs: options.auditRetainMs }).pipe(
          Layer.provideMerge(RelayLive(db, undefined, retention))
        )
      )
    )
  })
