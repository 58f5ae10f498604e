// node:http here: a daemon's upgrade is checked on the raw request before ws takes its socket.
import { Effect, Option, Redacted, Schema } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { rawError } from "../../layers/tunnel/relay/TunnelStreams.js"
import { BadRequest, Unauthorized, Unavailable } from "../../protocol/Errors.js"
import { DAEMON_ID_HEADER, DaemonId } from "../../protocol/RelayApi.js"
import { type ApiKeyRecord, ApiKeys } from "../../services/ApiKeys.js"
import { auditAuth } from "./AuditHooks.js"
import { bearer, type RelayContext } from "./RelayContext.js"

const isDaemonId = Schema.is(DaemonId)

/**
 * A daemon's upgrade (`/tunnel`, `/mesh`): its relay key in Authorization and its id in a header,
 * the attempt audited either way. The key's record and the daemon id, or undefined once the
 * refusal is written to the socket.
 */
export const admitDaemon = async (
  ctx: RelayContext,
  req: IncomingMessage,
  socket: Duplex,
  via: "tunnel" | "mesh"
): Promise<{ readonly record: ApiKeyRecord; readonly daemonId: string } | undefined> => {
  if (ctx.draining) return void rawError(socket, new Unavailable({ message: "The relay is shutting down." }))
  const key = bearer(req.headers.authorization)
  const daemonId = req.headers[DAEMON_ID_HEADER]
  if (typeof daemonId !== "string" || !isDaemonId(daemonId)) {
    return void rawError(socket, new BadRequest({ message: "Missing daemon id header." }))
  }
  const record = key === undefined
    ? Option.none()
    : await ctx.run(Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key))))
  const head = { address: req.socket.remoteAddress, headers: req.headers }
  auditAuth(ctx, head, via, record)
  if (Option.isNone(record)) {
    return void rawError(socket, new Unauthorized({ message: "The relay key is not valid." }))
  }
  ctx.gate.authenticated(req, ctx.clientIp(head))
  return { record: record.value, daemonId }
}
