import { HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Cause, Effect, identity, Option, Schema } from "effect"
import {
  BadRequest,
  errorResponse,
  Forbidden,
  Internal,
  NotFound,
  PayloadTooLarge,
  TooManyRequests,
  Unauthorized,
  UnsupportedMediaType
} from "../../protocol/Errors.js"
import { decodeErrorMessage } from "../../protocol/Issues.js"
import { jsonDepthWithin, tooDeep } from "../../protocol/JsonDepth.js"
import { isTunnelAllowed, isUnsealedAllowed, SEALED_CHANNEL_PATH } from "../../protocol/TunnelRoutes.js"
import { type AuthToken, bearerOf } from "../../services/AuthToken.js"
import type { Config } from "../../services/Config.js"
import { SealedDevice, Tunnelled } from "../../services/RequestContext.js"
import { readBoundedBody } from "./BoundedBody.js"
import { unsupportedMediaType } from "./ContentType.js"
import { hasDashboardSession } from "./DashboardSession.js"
import { allowedHosts, allowedOrigins } from "./Origins.js"

export type HttpApp = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  unknown,
  HttpServerRequest.HttpServerRequest | import("effect").Scope.Scope
>

/** Paths that answer without the daemon's auth token. */
const isPublic = (path: string) =>
  path === "/health" || path === "/dashboard" || path.startsWith("/dashboard/") ||
  // Agent transports present the token in their connect frame (or as a Bearer header).
  path === "/ws"

/** Rewrites the HttpApi's own decode-error body into the `{error: {code, message}}` envelope. */
const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(HttpApiDecodeError))
const rewriteDecodeError = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.status !== 400 || response.body._tag !== "Uint8Array") return response
  const decoded = decodeErrorBody(new TextDecoder().decode(response.body.body))
  if (Option.isNone(decoded)) return response
  return errorResponse(
    new BadRequest({ message: decodeErrorMessage(decoded.value.issues, () => decoded.value.message) })
  )
}

const clientOf = (request: HttpServerRequest.HttpServerRequest) =>
  Option.getOrElse(request.remoteAddress, () => "local")

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"])

/** A request whose body the HttpApi will parse as JSON (`/mcp` reads its own, see McpRoute). */
const carriesJson = (request: HttpServerRequest.HttpServerRequest) => {
  if (BODYLESS.has(request.method) || request.url.startsWith("/mcp")) return false
  const type = request.headers["content-type"]
  return type === undefined || type.toLowerCase().includes("json")
}

/** Failures that come from what the client sent, and the status they deserve. */
const classifyDefect = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
    return errorResponse(new NotFound({ message: "no such route" }))
  }
  if (HttpServerError.isServerError(error) && error._tag === "RequestError") {
    const text = String(error.cause ?? error.description ?? "")
    if (/too large|max.*size|exceed/i.test(text)) {
      return errorResponse(new PayloadTooLarge({ message: "request body is too large" }))
    }
    return errorResponse(new BadRequest({ message: "the request body is not valid JSON" }))
  }
  return undefined
}

export interface GuardOptions {
  readonly config: Config["Type"]
  readonly auth: AuthToken["Type"]
  readonly port: () => number
}

/** What the guard looks at before a request's body is read. */
export interface RequestHead {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly tunnelled: boolean
  /** The request came inside a paired device's sealed channel. */
  readonly sealed?: boolean | undefined
  /** The client's address: wrong auth tokens are rate limited per address. */
  readonly client: string
}

/** The guard's decision on a request's head. */
export type Verdict =
  | {
    readonly _tag: "Refuse"
    readonly error: GuardRefusal
    /** The refusal carries CORS headers (the Origin itself was acceptable). */
    readonly cors: boolean
    /** The connection closes after the refusal (its body was never read). */
    readonly close: boolean
  }
  | { readonly _tag: "Preflight" }
  | {
    readonly _tag: "Admit"
    /** The body counts against `daemon.max_body_bytes` (all but attachment uploads). */
    readonly bounded: boolean
    /** A bounded body without a declared length, to be read with the limit enforced. */
    readonly chunked: boolean
  }

type GuardRefusal = NotFound | Forbidden | TooManyRequests | Unauthorized | UnsupportedMediaType | PayloadTooLarge

export const NOT_PAIRED = "this browser is not paired with the daemon. Pair this browser: run `repowire relay pair` " +
  "on the daemon's machine and open the link it prints"

const refuse = (error: GuardRefusal, cors = false, close = false): Verdict => ({ _tag: "Refuse", error, cors, close })

/**
 * The guard's checks on a request's head: DNS rebinding (Host), cross-site (Origin), the
 * daemon's auth token, and the declared body size. One function, for every way in.
 */
export const makeAdmission = (options: GuardOptions) => {
  // The port is known once the server listens; the allowed sets follow it.
  let allowed:
    | { readonly port: number; readonly hosts: ReadonlySet<string>; readonly origins: ReadonlySet<string> }
    | undefined
  const allowedFor = (port: number) => {
    if (allowed?.port !== port) {
      allowed = { port, hosts: allowedHosts(port), origins: allowedOrigins(port, options.config.values) }
    }
    return allowed
  }
  const { auth, config } = options
  const limit = config.values.daemon.max_body_bytes
  const e2eRequired = config.values.relay.e2e === "required"
  return (head: RequestHead, browserSession: () => boolean): Verdict => {
    const { hosts, origins } = allowedFor(options.port())
    const { headers, tunnelled } = head
    const path = new URL(head.url, "http://localhost").pathname

    if (tunnelled) {
      if (!isTunnelAllowed(head.method, head.url)) {
        return refuse(new NotFound({ message: "not reachable through the relay" }))
      }
      if (head.sealed === true && path === SEALED_CHANNEL_PATH) {
        return refuse(new NotFound({ message: "a sealed channel does not carry another" }))
      }
      // The relay cannot read or downgrade a paired browser's traffic: nothing else is answered in clear.
      if (e2eRequired && head.sealed !== true && !isUnsealedAllowed(head.method, head.url)) {
        return refuse(new Forbidden({ message: NOT_PAIRED }))
      }
    } else {
      const host = headers["host"]
      if (host === undefined || !hosts.has(host.toLowerCase())) {
        return refuse(new Forbidden({ message: "Host header is not a loopback address of this daemon" }))
      }
    }

    const origin = headers["origin"]
    if (origin !== undefined && !origins.has(origin)) {
      return refuse(new Forbidden({ message: `Origin ${origin} is not allowed` }))
    }
    if (head.method === "OPTIONS") return { _tag: "Preflight" }

    if (auth.required && !tunnelled && !isPublic(path) && !browserSession()) {
      const check = auth.check(bearerOf(headers["authorization"]), head.client)
      if (check === "limited") {
        return refuse(
          new TooManyRequests({ message: "too many wrong auth tokens from this client; wait a minute" }),
          true
        )
      }
      if (check !== "ok") {
        return refuse(
          new Unauthorized({ message: "this daemon requires its auth token (Authorization: Bearer …)" }),
          true
        )
      }
    }

    const mediaType = unsupportedMediaType(head.method, path, headers)
    if (mediaType !== undefined) return refuse(new UnsupportedMediaType({ message: mediaType }), true, true)

    const bounded = !path.startsWith("/attachments")
    const declared = headers["content-length"]
    if (bounded && declared !== undefined && Number(declared) > limit) {
      return refuse(new PayloadTooLarge({ message: `request body is larger than ${limit} bytes` }), true, true)
    }
    return {
      _tag: "Admit",
      bounded,
      chunked: bounded && declared === undefined && headers["transfer-encoding"] !== undefined
    }
  }
}

/**
 * Every request passes here first: the admission checks above, CORS for exact allow-listed
 * origins, body limits, and one error envelope for all failures. A bug becomes a logged 500
 * "internal"; bad input never does.
 */
export const guard = (options: GuardOptions) => (app: HttpApp): HttpApp => {
  const admit = makeAdmission(options)
  const limit = options.config.values.daemon.max_body_bytes
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tunnelled = yield* Tunnelled
    const sealed = (yield* SealedDevice) !== undefined
    const verdict = admit(
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        tunnelled,
        sealed,
        client: clientOf(request)
      },
      () => hasDashboardSession(options.auth, request)
    )
    const origin = request.headers["origin"]
    const cors = (response: HttpServerResponse.HttpServerResponse) =>
      origin === undefined ? response : HttpServerResponse.setHeaders(response, {
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        vary: "Origin"
      })

    if (verdict._tag === "Refuse") {
      const refusal = errorResponse(verdict.error)
      const withCors = verdict.cors ? cors(refusal) : refusal
      return verdict.close ? HttpServerResponse.setHeader(withCors, "connection", "close") : withCors
    }
    if (verdict._tag === "Preflight") {
      return cors(HttpServerResponse.empty({ status: 204 })).pipe(HttpServerResponse.setHeaders({
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "content-type, authorization, x-repowire-peer-token, last-event-id",
        "access-control-max-age": "600"
      }))
    }

    let served = app
    let body = request
    if (verdict.chunked) {
      const rebuilt = yield* readBoundedBody(request, limit, request.headers["host"] ?? "localhost")
      if (rebuilt === undefined) {
        return cors(errorResponse(new PayloadTooLarge({ message: `request body is larger than ${limit} bytes` }))).pipe(
          HttpServerResponse.setHeader("connection", "close")
        )
      }
      served = Effect.provideService(app, HttpServerRequest.HttpServerRequest, rebuilt)
      body = rebuilt
    }
    if (verdict.bounded && carriesJson(body)) {
      // Read once here (the request caches its text for the handler) to refuse deep nesting
      // before any decoder or error formatter walks it.
      const text = yield* Effect.either(HttpIncomingMessage.withMaxBodySize(body.text, Option.some(limit)))
      if (text._tag === "Right" && !jsonDepthWithin(text.right)) {
        return cors(errorResponse(new BadRequest({ message: `the request body is ${tooDeep()}` })))
      }
    }

    const response = yield* served.pipe(
      verdict.bounded ? HttpIncomingMessage.withMaxBodySize(Option.some(limit)) : identity,
      Effect.catchAllCause((cause) => {
        const classified = classifyDefect(cause)
        if (classified !== undefined) return Effect.succeed(classified)
        // The client went away (a closed stream, a dropped request): nothing failed.
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        return Effect.as(
          Effect.logError("request failed", cause),
          errorResponse(Internal.logged())
        )
      })
    )
    return cors(rewriteDecodeError(response))
  })
}
