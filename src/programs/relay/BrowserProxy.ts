// node:http here: browser requests and upgrades are piped into the tunnel as they come, without copies.
import { Effect, Option } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import type { WebSocketServer } from "ws"
import { writeWireError } from "../../layers/JsonResponses.js"
import { asProxyLink, type ProxyLink } from "../../layers/tunnel/relay/ProxyLink.js"
import { RelayTunnel } from "../../layers/tunnel/relay/RelayTunnel.js"
import { rawError } from "../../layers/tunnel/relay/TunnelStreams.js"
import { BadGateway, Forbidden, NotFound, Unauthorized } from "../../protocol/Errors.js"
import { isTunnelPathAllowed, isTunnelSocket, tunnelPathname } from "../../protocol/TunnelRoutes.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { auditRequest, auditTunnel, auditUpgrade } from "./AuditHooks.js"
import { hopHttp, hopUpgrade } from "./ClusterHop.js"
import { admitDaemon } from "./DaemonUpgrade.js"
import { type CurrentSession, type RelayContext, type RequestHead } from "./RelayContext.js"

export const headOf = (req: IncomingMessage): RequestHead => ({
  address: req.socket.remoteAddress,
  headers: req.headers
})

const signIn = new Unauthorized({ message: "Sign in at / with your relay key." })
const notAllowed = new NotFound({ message: "Not available through the relay." })
const daemonAway = new BadGateway({ message: "Your daemon is not connected to the relay right now." })

/** The link to the session's chosen daemon, when it is connected (the table is in memory: no effect needed). */
const chosenLink = (ctx: RelayContext, { session }: CurrentSession): Option.Option<ProxyLink> => {
  const daemonId = session.daemon_id
  if (daemonId === null) return Option.none()
  return Option.flatMap(ctx.router.findNow(session.user_id, daemonId), (link) => Option.fromNullable(asProxyLink(link)))
}

/**
 * The request's session. On SQLite the lookup is a prepared statement, so it runs on the spot:
 * a request to a connected daemon then goes through without a fiber (each costs tens of µs).
 */
const sessionOf = async (ctx: RelayContext, head: RequestHead): Promise<CurrentSession | undefined> => {
  const known = ctx.sessionNow(head)
  return Option.isSome(known) ? known.value : await ctx.runQuick(ctx.session(head))
}

/** Browser traffic for the user's chosen daemon: session, allow-list, same-origin writes. */
export const proxyHttp = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const method = req.method ?? "GET"
  const url = req.url ?? "/"
  const head = headOf(req)
  const current = await sessionOf(ctx, head)
  if (current === undefined) {
    if (method === "GET" && (req.headers.accept ?? "").includes("text/html")) {
      res.writeHead(303, { location: "/" })
      return res.end()
    }
    return writeWireError(res, signIn)
  }
  const path = tunnelPathname(url)
  if (!isTunnelPathAllowed(method, path)) return writeWireError(res, notAllowed)
  if (method !== "GET" && method !== "HEAD" && !ctx.sameOrigin(head)) {
    return writeWireError(res, new Forbidden({ message: "Cross-site request refused." }))
  }
  const link = chosenLink(ctx, current)
  const client = ctx.clientIp(head)
  ctx.gate.authenticated(req, client)
  auditRequest(ctx, { req, res, session: current.session, client, method, path })
  if (Option.isNone(link)) return (await hopHttp(ctx, current, req, res, url)) || writeWireError(res, daemonAway)
  link.value.proxyHttp(req, res, url)
}

/** A browser WebSocket (the dashboard's live stream) bridged to the chosen daemon. */
export const proxyUpgrade = async (ctx: RelayContext, req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const url = req.url ?? "/"
  const requestHead = headOf(req)
  const current = await sessionOf(ctx, requestHead)
  if (current === undefined) return rawError(socket, signIn)
  if (!isTunnelSocket(url)) return rawError(socket, notAllowed)
  if (!ctx.sameOrigin(requestHead)) return rawError(socket, new Forbidden({ message: "Cross-site WebSocket refused." }))
  const link = chosenLink(ctx, current)
  const client = ctx.clientIp(requestHead)
  ctx.gate.authenticated(req, client)
  auditUpgrade(ctx, req, socket, current.session, client)
  if (Option.isNone(link)) {
    return (await hopUpgrade(ctx, current, req, socket, head, url)) || rawError(socket, daemonAway)
  }
  link.value.proxyUpgrade(req, socket, head, url)
}

/** `GET /tunnel` from a daemon: key in Authorization, daemon id in a header, then the tunnel. */
export const acceptTunnel = async (
  ctx: RelayContext,
  sockets: { readonly tunnels: WebSocketServer; readonly browsers: WebSocketServer },
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer
) => {
  const admitted = await admitDaemon(ctx, req, socket, "tunnel")
  if (admitted === undefined) return
  const { daemonId, record } = admitted
  sockets.tunnels.handleUpgrade(req, socket, head, (ws) => {
    const info = { userId: record.user_id, keyId: record.key_id, daemonId }
    auditTunnel(ctx, req, info, ws)
    const limits = { responseTimeoutMs: ctx.options.responseTimeoutMs, bufferBytes: ctx.options.tunnelBufferBytes }
    const tunnel = new RelayTunnel(
      info,
      ws,
      socket,
      sockets.browsers,
      limits,
      (t) => void ctx.run(Effect.flatMap(RelayRouter, (r) => r.detach(t)))
    )
    void ctx.run(Effect.flatMap(RelayRouter, (r) => r.attach(tunnel, ctx.options.maxTunnelsPerKey)))
  })
}
