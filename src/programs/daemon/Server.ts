import { HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, ExecutionStrategy, Layer, Logger, LogLevel, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as Http from "node:http"
import { AttachmentsLive } from "../../layers/AttachmentsLive.js"
import { AuthTokenLive } from "../../layers/AuthTokenLive.js"
import { MeshLive } from "../../layers/mesh/MeshLive.js"
import { PolicyLive } from "../../layers/PolicyLive.js"
import { SealedLive } from "../../layers/sealed/SealedLive.js"
import { SqliteLive } from "../../layers/Sqlite.js"
import { TunnelClientLocal } from "../../layers/TunnelClientLive.js"
import { durationMillis } from "../../protocol/ConfigFile.js"
import { Internal, wireErrorOf } from "../../protocol/Errors.js"
import { Config } from "../../services/Config.js"
import { LocalApp } from "../../services/LocalApp.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { makeDaemonApp } from "./App.js"
import { type DirectRoutes, makeDirectRoutes } from "./DirectRoutes.js"
import { MeshServices } from "./Services.js"

/** How long requests in flight may still finish once the daemon stops; then their connections close. */
const SHUTDOWN_GRACE_MS = 1000

/**
 * node:http's bounds on a request: its headers within 10 s (or the request timeout, when that
 * is shorter), the whole request within `daemon.request_timeout`; a client that takes longer
 * is answered 408 and its connection closed. Node looks every quarter of the timeout (30 s at
 * most): one cheap timer, whatever the traffic.
 */
const requestBounds = (requestTimeoutMs: number): Http.ServerOptions => ({
  requestTimeout: requestTimeoutMs,
  headersTimeout: Math.min(10_000, requestTimeoutMs),
  connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeoutMs / 4)))
})

/** A node:http server whose requests its direct routes see first; the rest go to the app. */
class DaemonNodeServer extends Http.Server {
  direct: DirectRoutes | undefined
  constructor(options: Http.ServerOptions) {
    super(options)
  }
  override emit(event: string | symbol, ...args: Array<any>): boolean {
    if (event === "request" && this.direct !== undefined) {
      try {
        if (this.direct(args[0], args[1])) return true
      } catch (defect) {
        // A bug in the fast path costs its request, never the process.
        const response = args[1] as Http.ServerResponse
        process.stderr.write(`repowire: direct route failed: ${String(defect)}\n`)
        const wire = wireErrorOf(Internal.logged())!
        if (!response.headersSent) response.writeHead(wire.status, { "content-type": "application/json" })
        response.end(JSON.stringify(wire.body))
        return true
      }
    }
    return super.emit(event as string, ...args)
  }
}

const Serve = (options: { readonly directRoutes: boolean }) =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const config = yield* Config
      const { paths, values } = config
      const node = new DaemonNodeServer(requestBounds(durationMillis(values.daemon.request_timeout)))
      // The server closes last, in a scope of its own: its WebSocket server waits for every
      // client to go, and the app's socket fibers (closed by `serve` below) are those clients.
      // Logged last, once every connection is closed (the log says the stop was a clean one).
      yield* Effect.addFinalizer(() => Effect.logInfo("repowire daemon stopped"))
      const serverScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const server = yield* NodeHttpServer.make(() => node, { host: values.daemon.host, port: values.daemon.port })
        .pipe(
          Scope.extend(serverScope)
        )
      // Closing the server waits for every connection to end, and a stuck client (a body that
      // never comes) never ends its own: idle connections close now, the rest after the grace.
      yield* Scope.addFinalizer(
        serverScope,
        Effect.sync(() => {
          node.closeIdleConnections()
          const timer = setTimeout(() => node.closeAllConnections(), SHUTDOWN_GRACE_MS)
          node.once("close", () => clearTimeout(timer))
        })
      )
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const app = yield* makeDaemonApp({ port: () => port })
      yield* (yield* LocalApp).set(app)
      yield* (yield* PeerRegistry).dashboard
      if (options.directRoutes) node.direct = yield* makeDirectRoutes({ config, port: () => port })
      // Tracing is off in the daemon: skip the per-request span the server would still build
      // (URL parse, every header redacted and copied into attributes).
      yield* HttpMiddleware.withTracerDisabledWhenEffect(server.serve(app), () => true)
      const url = `http://127.0.0.1:${port}`
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          // Written whole, then renamed: readers never see a half-written file.
          const tmp = `${paths.runtimeFile}.${process.pid}.tmp`
          await fs.writeFile(tmp, JSON.stringify({ pid: process.pid, port, url }), { mode: 0o600 })
          await fs.rename(tmp, paths.runtimeFile)
        }),
        () => Effect.promise(() => fs.rm(paths.runtimeFile, { force: true }))
      )
      yield* Effect.logInfo(`repowire daemon listening on ${url} (dashboard: ${url}/dashboard)`)
    }).pipe(Effect.withSpan("Daemon.serve"))
  )

/**
 * The whole daemon: HTTP server, mesh services, SQLite under the repowire home. Needs Config.
 * `directRoutes: false` serves every request through the HTTP app (tests compare the two).
 */
export const makeDaemonLive = (options: { readonly directRoutes: boolean }) =>
  Serve(options).pipe(
    Layer.provide(MeshLive),
    Layer.provide(MeshServices),
    // The access rules reach the mesh services and the app's handlers alike.
    Layer.provide(Layer.mergeAll(AttachmentsLive, TunnelClientLocal(), AuthTokenLive, PolicyLive, SealedLive)),
    // One LocalApp for both: Serve sets the app, the relay link serves tunnelled requests from it.
    Layer.provide(LocalApp.Live),
    Layer.provide(SqliteLive),
    Layer.provide(NodeHttpServer.layerContext)
  )

export const DaemonLive = makeDaemonLive({ directRoutes: true })

export const logLevelOf = (level: string) =>
  Logger.minimumLogLevel(
    LogLevel.allLevels.find((l) => l.label.toLowerCase() === level.toLowerCase().replace("warning", "warn")) ??
      (level === "none" ? LogLevel.None : LogLevel.Info)
  )
