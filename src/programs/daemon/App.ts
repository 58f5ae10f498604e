import { HttpLayerRouter } from "@effect/platform"
import { Effect, Layer } from "effect"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import type { Attachments } from "../../services/Attachments.js"
import { AuthToken } from "../../services/AuthToken.js"
import { Config } from "../../services/Config.js"
import type { EventLog } from "../../services/EventLog.js"
import type { DaemonHttpApp } from "../../services/LocalApp.js"
import { Mesh } from "../../services/Mesh.js"
import type { MessageRouter } from "../../services/MessageRouter.js"
import type { PeerRegistry } from "../../services/PeerRegistry.js"
import { Policy } from "../../services/Policy.js"
import type { SealedChannels } from "../../services/SealedChannels.js"
import type { Transports } from "../../services/Transports.js"
import type { TunnelClient } from "../../services/TunnelClient.js"
import { AgentSocketRoute } from "./AgentSocket.js"
import { AttachmentRoutes } from "./AttachmentRoutes.js"
import { DashboardRoutes } from "./DashboardRoutes.js"
import { EventStreamRoutes } from "./EventStream.js"
import { guard } from "./Guard.js"
import { DaemonHandlers } from "./Handlers.js"
import { McpRoute } from "./McpRoute.js"
import { RelayRoutes } from "./RelayRoutes.js"
import { SealedChannelRoute } from "./SealedChannelRoute.js"

export const DaemonRoutes = Layer.mergeAll(
  HttpLayerRouter.addHttpApi(DaemonApi).pipe(Layer.provide(DaemonHandlers)),
  AgentSocketRoute,
  EventStreamRoutes,
  AttachmentRoutes,
  DashboardRoutes,
  McpRoute,
  RelayRoutes,
  SealedChannelRoute
)

/**
 * The daemon's HTTP app behind its guard, with its services bound in: the server serves it,
 * and the relay tunnel runs it in-process.
 */
export const makeDaemonApp = Effect.fn("makeDaemonApp")(function*(options: { readonly port: () => number }) {
  const config = yield* Config
  const routes = yield* HttpLayerRouter.toHttpEffect(DaemonRoutes)
  // Raw routes read their services per request; bind them here once.
  const context = yield* Effect.context<
    | Config
    | AuthToken
    | Transports
    | PeerRegistry
    | MessageRouter
    | EventLog
    | Attachments
    | TunnelClient
    | SealedChannels
    | Mesh
  >()
  // A Reference: bound here too, or raw routes would read its default (no policy).
  const policy = yield* Policy
  const bound = Effect.provide(routes, context).pipe(Effect.provideService(Policy, policy))
  const guarded = guard({ config, auth: yield* AuthToken, ...options })(bound)
  return guarded as DaemonHttpApp
})
