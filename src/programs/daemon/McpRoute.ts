import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { Context, Effect, Layer, Option } from "effect"
import type { IncomingMessage } from "node:http"
import { DaemonClientLive } from "../../layers/DaemonClientLive.js"
import { McpCallerHeaders } from "../../layers/McpCallerHeaders.js"
import { BadRequest, errorResponse, Forbidden, NotFound, TooManyRequests, Unauthorized } from "../../protocol/Errors.js"
import { jsonDepthWithin, tooDeep } from "../../protocol/JsonDepth.js"
import { AuthToken, bearerOf } from "../../services/AuthToken.js"
import { Config } from "../../services/Config.js"
import { DaemonClient } from "../../services/DaemonClient.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { VERSION } from "../../Version.js"
import { makeMcpServer } from "../mcp/Tools.js"
import { allowedOrigins } from "./Origins.js"

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"])

/** The port this connection arrived on, for the Host check (the guard's port may be 0 in tests). */
const localPort = (request: HttpServerRequest.HttpServerRequest) =>
  (request.source as IncomingMessage | undefined)?.socket?.localPort

/** The request for the MCP SDK, its JSON body checked for nesting first (the SDK parses it unbounded). */
const mcpWebRequest = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    if (request.method !== "POST") return yield* HttpServerRequest.toWeb(request)
    const text = yield* request.text
    if (!jsonDepthWithin(text)) return undefined
    const url = new URL(request.url, `http://${request.headers["host"] ?? "localhost"}`)
    return new Request(url, { method: "POST", headers: new Headers(request.headers), body: text })
  })

/**
 * `/mcp`: the MCP tools over Streamable HTTP (stateless, JSON responses), only when
 * daemon.mcp_http.enabled. Checks its own Host (loopback with this port), Origin (none, or the
 * local dashboard's) and bearer (daemon.auth_token, required), since the SDK checks Host only
 * and deprecates even that. Never reachable through the relay. Tools call the daemon's own API
 * with the caller's peer headers, so the same identity rules apply as for every client.
 */
const handle = (client: Context.Context<DaemonClient>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const config = yield* Config
    if (!config.values.daemon.mcp_http.enabled || (yield* Tunnelled)) {
      return errorResponse(new NotFound({ message: "MCP over HTTP is disabled (daemon.mcp_http.enabled)" }))
    }
    const port = localPort(request)
    const host = request.headers["host"]?.toLowerCase()
    const hostName = host?.replace(/:\d+$/, "")
    if (host === undefined || hostName === undefined || !LOOPBACK.has(hostName) || host !== `${hostName}:${port}`) {
      return errorResponse(new Forbidden({ message: "Host header is not a loopback address of this daemon" }))
    }
    const origin = request.headers["origin"]
    if (
      origin !== undefined &&
      !allowedOrigins(port ?? 0, { ...config.values, relay: { ...config.values.relay, enabled: false } }).has(origin)
    ) {
      return errorResponse(new Forbidden({ message: `Origin ${origin} is not allowed` }))
    }
    const auth = yield* AuthToken
    if (!auth.required) {
      return errorResponse(
        new Unauthorized({ message: "MCP over HTTP needs daemon.auth_token (run `repowire setup --http-mcp`)" }),
        {
          "www-authenticate": "Bearer"
        }
      )
    }
    const check = auth.check(
      bearerOf(request.headers["authorization"]),
      Option.getOrElse(request.remoteAddress, () => "local")
    )
    if (check === "limited") {
      return errorResponse(new TooManyRequests({ message: "too many wrong bearer tokens; wait a minute" }))
    }
    if (check !== "ok") {
      return errorResponse(new Unauthorized({ message: "missing or wrong bearer token" }), {
        "www-authenticate": "Bearer"
      })
    }
    const tools = McpCallerHeaders(request.headers).pipe(Layer.provideMerge(Layer.succeedContext(client)))
    const server = makeMcpServer(
      { runPromiseExit: (effect) => Effect.runPromiseExit(Effect.provide(effect, tools)) },
      VERSION
    )
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true })
    yield* Effect.acquireRelease(Effect.promise(() => server.connect(transport)), () =>
      Effect.promise(() => server.close()))
    const webRequest = yield* mcpWebRequest(request)
    if (webRequest === undefined) {
      return errorResponse(new BadRequest({ message: `the request body is ${tooDeep()}` }))
    }
    const response = yield* Effect.promise(() =>
      transport.handleRequest(webRequest)
    )
    return HttpServerResponse.fromWeb(response)
  })

/** The route layer; needs Config. Mount it beside the daemon's other raw routes. */
export const McpRoute = Layer.unwrapScoped(
  Effect.gen(function*() {
    const client = yield* Layer.build(DaemonClientLive)
    return HttpLayerRouter.add("*", "/mcp", handle(client))
  }).pipe(Effect.withSpan("McpRoute.make"))
)
