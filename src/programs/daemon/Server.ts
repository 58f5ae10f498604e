import { HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, LogLevel, Logger } from "effect"
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import { AttachmentsLive } from "../../layers/AttachmentsLive.js"
import { SqliteLive } from "../../layers/Sqlite.js"
import { TunnelClientLocal } from "../../layers/TunnelClientLive.js"
import { Config } from "../../services/Config.js"
import { LocalApp } from "../../services/LocalApp.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { makeDaemonApp } from "./App.js"
import { runtimeFile } from "./RuntimeFile.js"
import { MeshServices } from "./Services.js"

const HttpServerLive = Layer.unwrapEffect(
  Effect.map(Config, ({ values }) =>
    NodeHttpServer.layer(createServer, { host: values.daemon.host, port: values.daemon.port }))
)

const Serve = Layer.scopedDiscard(
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const { paths } = yield* Config
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const app = yield* makeDaemonApp({ port: () => port })
    yield* (yield* LocalApp).set(app)
    yield* (yield* PeerRegistry).dashboard
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

/** The whole daemon: HTTP server, mesh services, SQLite under the repowire home. Needs Config. */
export const DaemonLive = Serve.pipe(
  Layer.provide(MeshServices),
  Layer.provide(Layer.mergeAll(AttachmentsLive, TunnelClientLocal())),
  // One LocalApp for both: Serve sets the app, the relay link serves tunnelled requests from it.
  Layer.provide(LocalApp.Live),
  Layer.provide(SqliteLive),
  Layer.provide(HttpServerLive)
)

export const logLevelOf = (level: string) =>
  Logger.minimumLogLevel(
    LogLevel.allLevels.find((l) => l.label.toLowerCase() === level.toLowerCase().replace("warning", "warn")) ??
      (level === "none" ? LogLevel.None : LogLevel.Info)
  )
