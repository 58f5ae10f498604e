import { HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Cause, Effect, identity, Option, Redacted, Schema } from "effect"
import { errorBody } from "../../protocol/Errors.js"
import type { Config } from "../../services/Config.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { secretsEqual } from "../../layers/Digest.js"
import { allowedHosts, allowedOrigins } from "./Origins.js"
import { readBoundedBody } from "./BoundedBody.js"
import { isTunnelAllowed } from "../../protocol/TunnelRoutes.js"

export type HttpApp = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  unknown,
  HttpServerRequest.HttpServerRequest | import("effect").Scope.Scope
>

const json = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson(errorBody(code, message), { status })

/** Paths that answer without the daemon's auth token. */
const isPublic = (path: string) =>
  path === "/health" || path === "/dashboard" || path.startsWith("/dashboard/") ||
  // Agent transports present the token in their connect frame (or as a Bearer header).
  path === "/ws"

const bearerOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const header = request.headers["authorization"]
  if (header === undefined) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(header)
  return match?.[1]?.trim()
}

/** Rewrites the HttpApi's own decode-error body into the `{error: {code, message}}` envelope. */
const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(HttpApiDecodeError))
const rewriteDecodeError = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.status !== 400 || response.body._tag !== "Uint8Array") return response
  const decoded = decodeErrorBody(new TextDecoder().decode(response.body.body))
  if (Option.isNone(decoded)) return response
  const issues = decoded.value.issues
  const deepest = issues.reduce<(typeof issues)[number] | undefined>(
    (acc, issue) => (acc === undefined || issue.path.length > acc.path.length ? issue : acc),
    undefined
  )
  const message = deepest === undefined
    ? decoded.value.message
    : deepest.path.length === 0
    ? deepest.message
    : `${deepest.path.join(".")}: ${deepest.message}`
  return json(400, "invalid_request", message)
}

/** Failures that come from what the client sent, and the status they deserve. */
const classifyDefect = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
    return json(404, "not_found", "no such route")
  }
  if (HttpServerError.isServerError(error) && error._tag === "RequestError") {
    const text = String(error.cause ?? error.description ?? "")
    if (/too large|max.*size|exceed/i.test(text)) return json(413, "payload_too_large", "request body is too large")
    return json(400, "invalid_request", "the request body is not valid JSON")
  }
  return undefined
}

export interface GuardOptions {
  readonly config: Config["Type"]
  readonly port: () => number
  /** Extra ways to authenticate a browser (the dashboard's own cookie). */
  readonly browserSession?: (request: HttpServerRequest.HttpServerRequest) => boolean
}

/**
 * Every request passes here first: DNS-rebinding (Host), cross-site (Origin) and token checks,
 * CORS for exact allow-listed origins, body limits, and one error envelope for all failures.
 * A bug becomes a logged 500 "internal"; bad input never does.
 */
export const guard = (options: GuardOptions) => (app: HttpApp): HttpApp => {
  // The port is known once the server listens; the allowed sets follow it.
  let allowed: { readonly port: number; readonly hosts: ReadonlySet<string>; readonly origins: ReadonlySet<string> } | undefined
  const allowedFor = (port: number) => {
    if (allowed?.port !== port) {
      allowed = { port, hosts: allowedHosts(port), origins: allowedOrigins(port, options.config.values) }
    }
    return allowed
  }
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tunnelled = yield* Tunnelled
    const { config } = options
    const port = options.port()
    const { hosts, origins } = allowedFor(port)
    const url = new URL(request.url, "http://localhost")
    const path = url.pathname

    if (tunnelled) {
      if (!isTunnelAllowed(request.method, request.url)) return json(404, "not_found", "not reachable through the relay")
    } else {
      const host = request.headers["host"]
      if (host === undefined || !hosts.has(host.toLowerCase())) {
        return json(403, "forbidden", "Host header is not a loopback address of this daemon")
      }
    }

    const origin = request.headers["origin"]
    if (origin !== undefined && !origins.has(origin)) {
      return json(403, "forbidden", `Origin ${origin} is not allowed`)
    }
    const cors = (response: HttpServerResponse.HttpServerResponse) =>
      origin === undefined ? response : HttpServerResponse.setHeaders(response, {
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        vary: "Origin"
      })

    if (request.method === "OPTIONS") {
      return cors(HttpServerResponse.empty({ status: 204 })).pipe(HttpServerResponse.setHeaders({
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "content-type, authorization, x-repowire-peer-token, last-event-id",
        "access-control-max-age": "600"
      }))
    }

    if (config.authToken !== undefined && !tunnelled && !isPublic(path)) {
      const bearer = bearerOf(request)
      const viaBearer = bearer !== undefined && secretsEqual(bearer, Redacted.value(config.authToken))
      const viaBrowser = options.browserSession?.(request) ?? false
      if (!viaBearer && !viaBrowser) {
        return cors(json(401, "unauthorized", "this daemon requires its auth token (Authorization: Bearer …)"))
      }
    }

    const limit = config.values.daemon.max_body_bytes
    const tooLarge = () =>
      cors(json(413, "payload_too_large", `request body is larger than ${limit} bytes`)).pipe(
        HttpServerResponse.setHeader("connection", "close")
      )
    const bounded = !path.startsWith("/attachments")
    const declared = request.headers["content-length"]
    if (bounded && declared !== undefined && Number(declared) > limit) return tooLarge()
    let served = app
    if (bounded && declared === undefined && request.headers["transfer-encoding"] !== undefined) {
      const rebuilt = yield* readBoundedBody(request, limit, request.headers["host"] ?? "localhost")
      if (rebuilt === undefined) return tooLarge()
      served = Effect.provideService(app, HttpServerRequest.HttpServerRequest, rebuilt)
    }

    const response = yield* served.pipe(
      path.startsWith("/attachments") ? identity : HttpIncomingMessage.withMaxBodySize(Option.some(limit)),
      Effect.catchAllCause((cause) => {
        const classified = classifyDefect(cause)
        if (classified !== undefined) return Effect.succeed(classified)
        // The client went away (a closed stream, a dropped request): nothing failed.
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        return Effect.as(
          Effect.logError("request failed", cause),
          json(500, "internal", "internal error; see the daemon log")
        )
      })
    )
    return cors(rewriteDecodeError(response))
  })
}
