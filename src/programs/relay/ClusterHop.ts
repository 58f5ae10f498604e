// node:http here: hops carry the proxy core's streams (requests, upgrades) between replicas untouched.
import { Context, Effect, Option, Redacted } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { writeWireError } from "../../layers/JsonResponses.js"
import { HOP_HEADER, HOP_PREFIX, signHop, verifyHop } from "../../layers/tunnel/relay/HopAuth.js"
import { forwardHttp, forwardUpgrade, type HopDestination } from "../../layers/tunnel/relay/HopForward.js"
import { asProxyLink, type ProxyLink } from "../../layers/tunnel/relay/ProxyLink.js"
import { rawError } from "../../layers/tunnel/relay/TunnelStreams.js"
import { BadGateway, NotFound, Unauthorized } from "../../protocol/Errors.js"
import { isTunnelAllowed, isTunnelSocket } from "../../protocol/TunnelRoutes.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import type { CurrentSession, RelayContext } from "./RelayContext.js"

/** Replica-to-replica requests: never routed, tunnelled or listed; refused without the cluster secret. */
export const isHopPath = (path: string): boolean => path === HOP_PREFIX || path.startsWith(`${HOP_PREFIX}/`)

const refused = new Unauthorized({ message: "Internal relay endpoint." })
const notAllowed = new NotFound({ message: "Not available through the relay." })
const gone = new BadGateway({ message: "Your daemon is not connected to the relay right now." })

/** Where another replica holds the session's daemon: the holder's URL and a signed hop header. */
const holderOf = async (ctx: RelayContext, { session }: CurrentSession, method: string, path: string) => {
  const cluster = ctx.options.cluster
  const daemonId = session.daemon_id
  if (cluster === undefined || daemonId === null) return undefined
  const router = Context.get(ctx.runtime.context, RelayRouter)
  const holder = await ctx.runQuick(router.elsewhere(session.user_id, daemonId))
  if (Option.isNone(holder)) return undefined
  const hop = signHop(Redacted.value(cluster.secret), method, path, { userId: session.user_id, daemonId })
  return {
    internalUrl: holder.value.internalUrl,
    hop,
    onMiss: () => router.missedElsewhere(session.user_id, daemonId)
  } satisfies HopDestination
}

/** A browser request whose tunnel another replica holds, forwarded there; false when none does. */
export const hopHttp = async (
  ctx: RelayContext,
  current: CurrentSession,
  req: IncomingMessage,
  res: ServerResponse,
  path: string
): Promise<boolean> => {
  const holder = await holderOf(ctx, current, req.method ?? "GET", path)
  if (holder === undefined) return false
  forwardHttp(holder, req, res, path)
  return true
}

/** The same for a browser WebSocket. */
export const hopUpgrade = async (
  ctx: RelayContext,
  current: CurrentSession,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string
): Promise<boolean> => {
  const holder = await holderOf(ctx, current, "GET", path)
  if (holder === undefined) return false
  forwardUpgrade(holder, req, socket, head, path)
  return true
}

/** On the holder: the hop's signature, then this replica's own tunnel (or why not). */
const accept = async (ctx: RelayContext, req: IncomingMessage) => {
  const cluster = ctx.options.cluster
  const method = req.method ?? "GET"
  const path = (req.url ?? HOP_PREFIX).slice(HOP_PREFIX.length) || "/"
  const target = cluster === undefined
    ? undefined
    : verifyHop(Redacted.value(cluster.secret), method, path, req.headers[HOP_HEADER])
  if (target === undefined) return { error: refused } as const
  if (!isTunnelAllowed(method, path)) return { error: notAllowed } as const
  ctx.gate.authenticated(req, ctx.clientIp({ address: req.socket.remoteAddress, headers: req.headers }))
  ctx.gate.trustReplica(req.socket.remoteAddress)
  const link = await ctx.runQuick(Effect.map(
    Effect.flatMap(RelayRouter, (r) => r.find(target.userId, target.daemonId)),
    Option.flatMap((l) => Option.fromNullable(asProxyLink(l)))
  ))
  return Option.isNone(link) ? { error: gone } as const : { link: link.value as ProxyLink, path } as const
}

/** `/_relay/hop/…` from another replica: served from this replica's tunnel as if the browser were here. */
export const serveHop = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const accepted = await accept(ctx, req)
  if ("error" in accepted) return writeWireError(res, accepted.error)
  accepted.link.proxyHttp(req, res, accepted.path)
}

export const serveHopUpgrade = async (ctx: RelayContext, req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const accepted = await accept(ctx, req)
  if ("error" in accepted) return rawError(socket, accepted.error)
  if (!isTunnelSocket(accepted.path)) return rawError(socket, notAllowed)
  accepted.link.proxyUpgrade(req, socket, head, accepted.path)
}
