// node:http here: one server owns the socket so the proxy core streams bytes without copies (own routes: platform).
import { Effect, Option, Redacted, Runtime } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { writeWireError } from "../../layers/JsonResponses.js"
import { RateLimitsLive } from "../../layers/RateLimitsLive.js"
import { rawError } from "../../layers/tunnel/relay/TunnelStreams.js"
import { Internal, Unauthorized } from "../../protocol/Errors.js"
import { MAX_MESH_FRAME, MESH_PATH } from "../../protocol/MeshRelayWire.js"
import { HEADER_BYTES, MAX_FRAME_PAYLOAD } from "../../protocol/TunnelFrame.js"
import { ClusterSignals } from "../../services/ClusterSignals.js"
import { MeshDirectory } from "../../services/MeshDirectory.js"
import { RateLimits } from "../../services/RateLimits.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { acceptTunnel, headOf, proxyHttp, proxyUpgrade } from "./BrowserProxy.js"
import { tooManyConnections } from "./ClientGate.js"
import { isHopPath, serveHop, serveHopUpgrade } from "./ClusterHop.js"
import { MAX_HOP_FRAME, MESH_HOP_PATH, MeshReplicas } from "./MeshReplicas.js"
import { acceptMesh, MeshSwitch } from "./MeshSwitch.js"
import { RelayContext, type RelayOptions, type RelayServices } from "./RelayContext.js"
import { isRelayRoute, makeRelayRoutesHandler } from "./RelayRoutes.js"

export interface RelayServer {
  readonly port: number
  /** Base URL as seen from this machine (https:// or http://). */
  readonly url: string
  readonly context: RelayContext
}

const onRequest =
  (ctx: RelayContext, relayRoutes: (req: http.IncomingMessage, res: http.ServerResponse) => void) =>
  (req: http.IncomingMessage, res: http.ServerResponse) => {
    const head = headOf(req)
    if (!ctx.gate.request(req, res, ctx.clientIp(head))) return
    const path = (req.url ?? "/").split("?")[0]!
    if (isHopPath(path)) return void serveHop(ctx, req, res).catch(() => writeWireError(res, failed))
    if (isRelayRoute(req.method ?? "GET", path, () => ctx.sessionId(head) !== undefined)) return relayRoutes(req, res)
    proxyHttp(ctx, req, res).catch(() => writeWireError(res, failed))
  }

const failed = new Internal({ message: "The relay failed to handle this request." })

/** A replica among several: the mesh switch reaches daemons held by the others (MeshReplicas). */
const meshReplicas = (ctx: RelayContext, meshSwitch: MeshSwitch) =>
  Effect.gen(function*() {
    const directory = yield* Effect.serviceOption(MeshDirectory)
    const cluster = ctx.options.cluster
    if (Option.isNone(directory) || cluster === undefined) return undefined
    const run = Runtime.runPromise(yield* Effect.runtime<never>())
    const replicas = new MeshReplicas(directory.value, Redacted.value(cluster.secret), meshSwitch, run)
    const signals = yield* Effect.serviceOption(ClusterSignals)
    if (Option.isSome(signals)) yield* signals.value.subscribe((signal) => replicas.onSignal(signal))
    return replicas
  })

const acceptMeshHop = async (
  ctx: RelayContext,
  replicas: MeshReplicas | undefined,
  sockets: WebSocketServer,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer
) => {
  if (replicas === undefined) return rawError(socket, new Unauthorized({ message: "Internal relay endpoint." }))
  replicas.accept(sockets, req, socket, head, () => {
    ctx.gate.authenticated(req, ctx.clientIp({ address: req.socket.remoteAddress, headers: req.headers }))
    ctx.gate.trustReplica(req.socket.remoteAddress)
  })
}

/**
 * The relay's HTTP(S) server as a scoped resource. Closing the scope sends GOAWAY to every
 * daemon, lets streams drain for `drainMs`, then answers what is left with 502 and closes.
 */
export const makeRelayServer = (options: RelayOptions) =>
  Effect.gen(function*() {
    // Nothing exports the relay's spans; making one per query and request only costs time.
    const runtime = yield* Effect.runtime<RelayServices>().pipe(Effect.withTracerEnabled(false))
    const limits = yield* RateLimits.pipe(Effect.provide(RateLimitsLive(options.authRate)))
    const ctx = new RelayContext(options, runtime, limits)
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_PAYLOAD + HEADER_BYTES
    })
    const browserWss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_PAYLOAD })
    const mesh = {
      switch: new MeshSwitch(),
      sockets: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESH_FRAME }),
      hops: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_HOP_FRAME })
    }
    // A revoked key closes its /mesh sockets too, however the relay hears of it.
    yield* Effect.flatMap(RelayRouter, (router) => router.holdKeys(mesh.switch))
    const replicas = yield* meshReplicas(ctx, mesh.switch)
    const handler = onRequest(ctx, yield* makeRelayRoutesHandler(ctx))
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
      if (options.tls === undefined) rawError(socket, tooManyConnections)
      else socket.destroy()
    })
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => undefined)
      ctx.gate.started(req.socket)
      const path = (req.url ?? "/").split("?")[0]
      const accept = path === "/tunnel"
        ? acceptTunnel(ctx, { tunnels: wss, browsers: browserWss }, req, socket, head)
        : path === MESH_PATH
        ? acceptMesh(ctx, mesh, req, socket, head)
        : path === MESH_HOP_PATH
        ? acceptMeshHop(ctx, replicas, mesh.hops, req, socket, head)
        : isHopPath(path ?? "/")
        ? serveHopUpgrade(ctx, req, socket, head)
        : proxyUpgrade(ctx, req, socket, head)
      accept.catch(() => rawError(socket, new Internal({ message: "The relay failed to handle this upgrade." })))
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
          mesh.switch.closeAll()
          replicas?.closeAll()
          browserWss.clients.forEach((ws) => ws.terminate())
          server.closeAllConnections()
        })
    )
    const port = (server.address() as AddressInfo).port
    const scheme = options.tls === undefined ? "http" : "https"
    const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host
    return { port, url: `${scheme}://${host}:${port}`, context: ctx } satisfies RelayServer
  })
