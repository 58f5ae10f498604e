import { Effect, Option, Redacted, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { RelayTunnel } from "../../layers/tunnel/relay/RelayTunnel.js"
import { rawResponse } from "../../layers/tunnel/relay/TunnelStreams.js"
import { DAEMON_ID_HEADER, DaemonId, type RelayHealth } from "../../protocol/RelayApi.js"
import { HEADER_BYTES, MAX_FRAME_PAYLOAD } from "../../protocol/TunnelFrame.js"
import { isTunnelAllowed, isTunnelSocket } from "../../protocol/TunnelRoutes.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { bearer, register, rotate } from "./ApiRoutes.js"
import { auth, landing, logout, select } from "./BrowserRoutes.js"
import { errorPage, jsonResponse } from "./Pages.js"
import { RelayContext, type RelayOptions, type RelayServices } from "./RelayContext.js"

export interface RelayServer {
  readonly port: number
  /** Base URL as seen from this machine (https:// or http://). */
  readonly url: string
  readonly context: RelayContext
}

const isDaemonId = Schema.is(DaemonId)

const health = async (ctx: RelayContext, res: http.ServerResponse) => {
  const counts = await ctx.run(Effect.flatMap(RelayRouter, (r) => r.counts))
  const body: RelayHealth = {
    ok: !ctx.draining,
    version: ctx.options.version,
    uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
    tunnels: counts.tunnels,
    streams: counts.streams,
    queued_bytes: counts.queuedBytes,
    draining: ctx.draining
  }
  jsonResponse(res, ctx.draining ? 503 : 200, body)
}

/** Browser traffic for the user's chosen daemon: session, allow-list, same-origin writes. */
const proxy = async (ctx: RelayContext, req: http.IncomingMessage, res: http.ServerResponse) => {
  const method = req.method ?? "GET"
  const url = req.url ?? "/"
  const current = await ctx.session(req)
  if (current === undefined) {
    if (method === "GET" && (req.headers.accept ?? "").includes("text/html")) {
      res.writeHead(303, { location: "/" })
      return res.end()
    }
    return errorPage(res, 401, "Sign in at / with your relay key.")
  }
  if (!isTunnelAllowed(method, url)) return errorPage(res, 404, "Not available through the relay.")
  if (method !== "GET" && method !== "HEAD" && !ctx.sameOrigin(req)) {
    return errorPage(res, 403, "Cross-site request refused.")
  }
  const { daemon_id, user_id } = current.session
  const link = daemon_id === null
    ? Option.none()
    : await ctx.runQuick(Effect.flatMap(RelayRouter, (r) => r.find(user_id, daemon_id)))
  if (Option.isNone(link)) return errorPage(res, 502, "Your daemon is not connected to the relay right now.")
  ctx.gate.authenticated(req, ctx.clientIp(req))
  link.value.proxyHttp(req, res, url)
}

const onRequest = (ctx: RelayContext) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  const path = (req.url ?? "/").split("?")[0]
  const method = req.method ?? "GET"
  if (!ctx.gate.request(req, res, ctx.clientIp(req))) return
  const route = async () => {
    if (path === "/_relay/health") return health(ctx, res)
    if (path === "/" && method === "GET") return landing(ctx, req, res)
    if (path === "/auth" && method === "POST") return auth(ctx, req, res)
    if (path === "/select" && method === "POST") return select(ctx, req, res)
    if (path === "/logout" && method === "POST") return logout(ctx, req, res)
    if (path === "/api/register" && method === "POST") return register(ctx, req, res)
    if (path === "/api/rotate" && method === "POST") return rotate(ctx, req, res)
    if (path === "/health" && ctx.sessionId(req) === undefined) return health(ctx, res)
    return proxy(ctx, req, res)
  }
  route().catch(() => errorPage(res, 500, "The relay failed to handle this request."))
}

/** `GET /tunnel` from a daemon: key in Authorization, daemon id in a header, then the tunnel. */
const acceptTunnel = async (
  ctx: RelayContext,
  wss: WebSocketServer,
  browserWss: WebSocketServer,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer
) => {
  if (ctx.draining) return rawResponse(socket, 503, "The relay is shutting down.")
  const key = bearer(req)
  const daemonId = req.headers[DAEMON_ID_HEADER]
  if (typeof daemonId !== "string" || !isDaemonId(daemonId)) {
    return rawResponse(socket, 400, "Missing daemon id header.")
  }
  const record = key === undefined
    ? Option.none()
    : await ctx.run(Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key))))
  if (Option.isNone(record)) return rawResponse(socket, 401, "The relay key is not valid.")
  ctx.gate.authenticated(req, ctx.clientIp(req))
  wss.handleUpgrade(req, socket, head, (ws) => {
    const info = { userId: record.value.user_id, keyId: record.value.key_id, daemonId }
    const limits = { responseTimeoutMs: ctx.options.responseTimeoutMs, bufferBytes: ctx.options.tunnelBufferBytes }
    const tunnel = new RelayTunnel(
      info,
      ws,
      socket,
      browserWss,
      limits,
      (t) => void ctx.run(Effect.flatMap(RelayRouter, (r) => r.detach(t)))
    )
    void ctx.run(Effect.flatMap(RelayRouter, (r) => r.attach(tunnel, ctx.options.maxTunnelsPerKey)))
  })
}

/** A browser WebSocket (the dashboard's live stream) bridged to the chosen daemon. */
const acceptBrowserSocket = async (ctx: RelayContext, req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  const url = req.url ?? "/"
  const current = await ctx.session(req)
  if (current === undefined) return rawResponse(socket, 401, "Sign in at / with your relay key.")
  if (!isTunnelSocket(url)) {
    return rawResponse(socket, 404, "Not available through the relay.")
  }
  if (!ctx.sameOrigin(req)) return rawResponse(socket, 403, "Cross-site WebSocket refused.")
  const { daemon_id, user_id } = current.session
  const link = daemon_id === null
    ? Option.none()
    : await ctx.runQuick(Effect.flatMap(RelayRouter, (r) => r.find(user_id, daemon_id)))
  if (Option.isNone(link)) return rawResponse(socket, 502, "Your daemon is not connected to the relay right now.")
  ctx.gate.authenticated(req, ctx.clientIp(req))
  link.value.proxyUpgrade(req, socket, head, url)
}

/**
 * The relay's HTTP(S) server as a scoped resource. Closing the scope sends GOAWAY to every
 * daemon, lets streams drain for `drainMs`, then answers what is left with 502 and closes.
 */
export const makeRelayServer = (options: RelayOptions) =>
  Effect.gen(function*() {
    // Nothing exports the relay's spans; making one per query and request only costs time.
    const runtime = yield* Effect.runtime<RelayServices>().pipe(Effect.withTracerEnabled(false))
    const ctx = new RelayContext(options, runtime)
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_PAYLOAD + HEADER_BYTES
    })
    const browserWss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_PAYLOAD })
    const handler = onRequest(ctx)
    const timeouts = {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: 0,
      // Node checks the headers deadline on this interval (30 s by default, far past the deadline).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(options.headersTimeoutMs / 4)))
    }
    const server = options.tls === undefined
      ? http.createServer({ noDelay: true, ...timeouts }, handler)
      : https.createServer({
        cert: options.tls.cert,
        key: options.tls.key,
        noDelay: true,
        handshakeTimeout: options.headersTimeoutMs,
        ...timeouts
      }, handler)
    server.on("connection", (socket: net.Socket) => {
      if (ctx.gate.open(socket, ctx.isProxy(socket.remoteAddress))) return
      if (options.tls === undefined) rawResponse(socket, 429, "Too many connections from this address.")
      else socket.destroy()
    })
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => undefined)
      ctx.gate.started(req.socket)
      const path = (req.url ?? "/").split("?")[0]
      const accept = path === "/tunnel"
        ? acceptTunnel(ctx, wss, browserWss, req, socket, head)
        : acceptBrowserSocket(ctx, req, socket, head)
      accept.catch(() => rawResponse(socket, 500, "The relay failed to handle this upgrade."))
    })
    server.on("clientError", (_e, socket) => socket.destroy())

    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        server.once("error", (e) => resume(Effect.fail(e)))
        server.listen(options.port, options.host, () => resume(Effect.void))
      }).pipe(Effect.orDie),
      () =>
        Effect.gen(function*() {
          ctx.draining = true
          server.close()
          const router = yield* RelayRouter
          yield* router.drainAll("the relay is shutting down")
          const deadline = Date.now() + options.drainMs
          while (Date.now() < deadline && (yield* router.counts).streams > 0) yield* Effect.sleep("25 millis")
          yield* router.closeAll("the relay shut down")
          browserWss.clients.forEach((ws) => ws.close(1001, "relay shutdown"))
          // Let the 502s and close frames just written reach the sockets before cutting them.
          yield* Effect.sleep("100 millis")
          wss.clients.forEach((ws) => ws.terminate())
          browserWss.clients.forEach((ws) => ws.terminate())
          server.closeAllConnections()
        })
    )
    const port = (server.address() as AddressInfo).port
    const scheme = options.tls === undefined ? "http" : "https"
    const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host
    return { port, url: `${scheme}://${host}:${port}`, context: ctx } satisfies RelayServer
  })
