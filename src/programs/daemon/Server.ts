import { HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, ExecutionStrategy, Layer, LogLevel, Logger, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as Http from "node:http"
import { AttachmentsLive } from "../../layers/AttachmentsLive.js"
import { AuthTokenLive } from "../../layers/AuthTokenLive.js"
import { SqliteLive } from "../../layers/Sqlite.js"
import { TunnelClientLocal } from "../../layers/TunnelClientLive.js"
import { Config } from "../../services/Config.js"
import { LocalApp } from "../../services/LocalApp.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { makeDaemonApp } from "./App.js"
import { type DirectRoutes, makeDirectRoutes } from "./DirectRoutes.js"
import { runtimeFile } from "./RuntimeFile.js"
import { MeshServices } from "./Services.js"

/** A node:http server whose requests its direct routes see first; the rest go to the app. */
class DaemonNodeServer extends Http.Server {
  direct: DirectRoutes | undefined
  override emit(event: string | symbol, ...args: Array<any>): boolean {
    if (event === "request" && this.direct !== undefined) {
      try {
        if (this.direct(args[0], args[1])) return true
      } catch (defect) {
        // A bug in the fast path costs its request, never the process.
        const response = args[1] as Http.ServerResponse
        process.stderr.write(`repowire: direct route failed: ${String(defect)}\n`)
        if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" })
        response.end(JSON.stringify({ error: { code: "internal", message: "internal error; see the daemon log" } }))
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
      const node = new DaemonNodeServer()
      // The server closes last, in a scope of its own: its WebSocket server waits for every
      // client to go, and the app's socket fibers (closed by `serve` below) are those clients.
      const serverScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const server = yield* NodeHttpServer.make(() => node, { host: values.daemon.host, port: values.daemon.port }).pipe(
        Scope.extend(serverScope)
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
          const tmp = `${runtimeFile(paths)}.${process.pid}.tmp`
          await fs.writeFile(tmp, JSON.stringify({ pid: process.pid, port, url }), { mode: 0o600 })
          await fs.rename(tmp, runtimeFile(paths))
        }),
        () => Effect.promise(() => fs.rm(runtimeFile(paths), { force: true }))
      )
      yield* Effect.logInfo(`repowire daemon listening on ${url} (dashboard: ${url}/dashboard)`)
    })
  )

/**
 * The whole daemon: HTTP server, mesh services, SQLite under the repowire home. Needs Config.
 * `directRoutes: false` serves every request through the HTTP app (tests compare the two).
 */
export const makeDaemonLive = (options: { readonly directRoutes: boolean }) =>
  Serve(options).pipe(
    Layer.provide(MeshServices),
    Layer.provide(Layer.mergeAll(AttachmentsLive, TunnelClientLocal(), AuthTokenLive)),
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
