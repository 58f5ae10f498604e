import { HttpLayerRouter, HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Internal } from "../../protocol/Errors.js"
import { health, register, rotate } from "./ApiRoutes.js"
import { auth, landing, logout, select } from "./BrowserRoutes.js"
import { apiError } from "./Pages.js"
import { Relay, type RelayContext } from "./RelayContext.js"

/** The relay's own routes: health, the key form and session, the CLI's key API. */
export const RelayRoutes = Layer.mergeAll(
  HttpLayerRouter.add("*", "/_relay/health", health),
  HttpLayerRouter.add("*", "/health", health),
  HttpLayerRouter.add("GET", "/", landing),
  HttpLayerRouter.add("POST", "/auth", auth),
  HttpLayerRouter.add("POST", "/select", select),
  HttpLayerRouter.add("POST", "/logout", logout),
  HttpLayerRouter.add("POST", "/api/register", register),
  HttpLayerRouter.add("POST", "/api/rotate", rotate)
)

const FORMS = new Set(["POST /auth", "POST /select", "POST /logout", "POST /api/register", "POST /api/rotate"])

/**
 * Whether the relay answers a request itself (the routes above) rather than tunnel it to the
 * browser's daemon. `/health` is the daemon's own health for a signed-in browser.
 */
export const isRelayRoute = (method: string, path: string, hasSession: boolean): boolean =>
  path === "/_relay/health" || (path === "/" && method === "GET") || FORMS.has(`${method} ${path}`) ||
  (path === "/health" && !hasSession)

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
