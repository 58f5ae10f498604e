import { HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import { createServer } from "node:http"
import { ApiKeysLive } from "../../src/layers/ApiKeysLive.js"
import { AttachmentsLive } from "../../src/layers/AttachmentsLive.js"
import { AttachmentsMemory } from "../../src/layers/AttachmentsMemory.js"
import { AuthTokenLive } from "../../src/layers/AuthTokenLive.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { MeshLive } from "../../src/layers/mesh/MeshLive.js"
import { type DaemonRetention, RelayRouterLive } from "../../src/layers/RelayRouterLive.js"
import { RelaySessionsLive } from "../../src/layers/RelaySessionsLive.js"
import { RelayStoreLive } from "../../src/layers/RelayStoreLive.js"
import { SealedLive } from "../../src/layers/sealed/SealedLive.js"
import { SqliteLive, SqliteMemory } from "../../src/layers/Sqlite.js"
import { MeshServices, meshServicesOver } from "../../src/programs/daemon/Services.js"
import { LocalApp } from "../../src/services/LocalApp.js"
import type { Transports } from "../../src/services/Transports.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"

/**
 * The layers tests and benches build a daemon's pieces from, so each suite names what it
 * swaps instead of repeating how the daemon composes them.
 */

/** A home that is never read: in-memory layers only need its paths. */
export const MEMORY_HOME = "/nonexistent-repowire-home"

/** The daemon's mesh on SQLite in memory, with a config for the test; `transports` swaps the agents' connections. */
export const meshLayer = (config: Record<string, unknown> = {}, transports?: Layer.Layer<Transports>) =>
  (transports === undefined ? MeshServices : meshServicesOver(transports)).pipe(
    Layer.provideMerge(Layer.mergeAll(AttachmentsMemory, TunnelClient.Disabled)),
    Layer.provideMerge(SqliteMemory),
    Layer.provideMerge(ConfigMemory(MEMORY_HOME, config))
  )

/** The daemon's gate (its auth token, the human credential under `home`) with its config. */
export const gateLayer = (home: string, config: Record<string, unknown> = {}) =>
  AuthTokenLive.pipe(Layer.provideMerge(ConfigMemory(home, config)))

/** Attachments on SQLite and files under `home`, behind the daemon's gate. */
export const attachmentsLayer = (home: string, config: Record<string, unknown> = {}) =>
  AttachmentsLive.pipe(Layer.provide(SqliteLive), Layer.provideMerge(gateLayer(home, config)))

/** The daemon's services as it runs them, on SQLite and files under `home`, without its HTTP server. */
export const daemonServicesLayer = (home: string, config: Record<string, unknown> = {}) =>
  MeshLive.pipe(
    Layer.provideMerge(MeshServices),
    Layer.provideMerge(Layer.mergeAll(AttachmentsLive, TunnelClient.Disabled, AuthTokenLive, SealedLive)),
    Layer.provideMerge(LocalApp.Live),
    Layer.provideMerge(SqliteLive),
    Layer.provideMerge(ConfigMemory(home, config))
  )

/** A port-0 HTTP server on 127.0.0.1 serving `routes` (read the port from HttpServer's address). */
export const serveOnLoopback = <A, E, R>(routes: Layer.Layer<A, E, R>) =>
  HttpLayerRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )

/** The relay's services on its store at `dbFile` (":memory:" for one test), with a short keepalive. */
export const RelayServicesLayer = (
  dbFile: string,
  keepalive = { intervalMs: 1000, deadAfterMs: 3000 },
  retention?: DaemonRetention
) =>
  Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive, retention)).pipe(
    Layer.provideMerge(RelayStoreLive(dbFile))
  )
