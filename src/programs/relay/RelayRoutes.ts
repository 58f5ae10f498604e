import { HttpLayerRouter, HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect } from "effect"
import { Internal } from "../../protocol/Errors.js"
import { health, register, rotate } from "./ApiRoutes.js"
import { auditKey, auditRead } from "./AuditRoutes.js"
import { auth, landing, logout, select } from "./BrowserRoutes.js"
import { apiError } from "./Pages.js"
import { Relay, type RelayContext } from "./RelayContext.js"

/** The relay's own routes, whoever asks: health, the key form and session, the CLI's key API. */
const ownRoutes = [
  HttpLayerRouter.route("*", "/_relay/health", health),
  HttpLayerRouter.route("GET", "/", landing),
  HttpLayerRouter.route("POST", "/auth", auth),
  HttpLayerRouter.route("POST", "/select", select),
  HttpLayerRouter.route("POST", "/logout", logout),
  HttpLayerRouter.route("POST", "/api/register", register),
  HttpLayerRouter.route("POST", "/api/rotate", rotate),
  HttpLayerRouter.route("GET", "/_relay/audit", auditRead),
  HttpLayerRouter.route("GET", "/_relay/audit/key", auditKey)
]

/** `/health` is the relay's own only without a session; a signed-in browser gets its daemon's. */
export const RelayRoutes = HttpLayerRouter.addAll([...ownRoutes, HttpLayerRouter.route("*", "/health", health)])

const owned = new Set(ownRoutes.map((route) => `${route.method} ${route.path}`))

/** Whether the relay answers a request itself (the routes above) rather than tunnel it to the browser's daemon. */
export const isRelayRoute = (method: string, path: string, hasSession: () => boolean): boolean =>
  owned.has(`* ${path}`) || owned.has(`${method} ${path}`) || (path === "/health" && !hasSession())

const failed = apiError(new Internal({ message: "The relay failed to handle this request." }))

/** The relay's routes as a node:http request listener, for the one server that owns the socket. */
export const makeRelayRoutesHandler = (relay: RelayContext) =>
  Effect.gen(function*() {
    const routes = yield* HttpLayerRouter.toHttpEffect(RelayRoutes)
    const app = routes.pipe(
      Effect.catchAllCause(() => Effect.succeed(failed)),
      Effect.provideService(Relay, relay)
    )
    // Nothing exports the relay's spans: skip the per-request span (URL parse, headers copied).
    return yield* HttpMiddleware.withTracerDisabledWhenEffect(NodeHttpServer.makeHandler(app), () => true)
  }).pipe(Effect.withTracerEnabled(false))
