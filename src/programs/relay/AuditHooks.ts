import { Context, Effect, Option } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import type { WebSocket } from "ws"
import type { AuditEvent } from "../../protocol/Audit.js"
import { SealedGroup } from "../../protocol/SealedApi.js"
import { tunnelPathname } from "../../protocol/TunnelRoutes.js"
import type { ApiKeyRecord } from "../../services/ApiKeys.js"
import { Audit, type AuditLog } from "../../services/Audit.js"
import type { TunnelInfo } from "../../services/RelayRouter.js"
import type { RelaySession } from "../../services/RelaySessions.js"
import type { RelayContext, RequestHead } from "./RelayContext.js"

/**
 * One call per place the relay's node:http handlers emit an audit record. Each only queues
 * (the batch writer appends later); none reads a body, a cookie or a key.
 */
const auditOf = (ctx: RelayContext): AuditLog => Context.get(ctx.runtime.context, Audit)

const clientOf = (ctx: RelayContext, req: IncomingMessage) =>
  ctx.clientIp({ address: req.socket.remoteAddress, headers: req.headers })

const emit = (ctx: RelayContext, event: AuditEvent) => {
  const audit = auditOf(ctx)
  if (audit.enabled) audit.record(event)
}

/** `auth_ok` / `auth_failed` for a key presented at `via` (browser form, tunnel, rotation). */
export const auditAuth = (
  ctx: RelayContext,
  head: RequestHead,
  via: string,
  record: Option.Option<ApiKeyRecord>
) =>
  emit(
    ctx,
    Option.match(record, {
      onNone: () => ({ kind: "auth_failed", user_id: null, detail: { via, client: ctx.clientIp(head) } }),
      onSome: (r) => ({
        kind: "auth_ok",
        user_id: r.user_id,
        detail: { via, key_id: r.key_id, client: ctx.clientIp(head) }
      })
    })
  )

export const auditSessionCreated = (
  ctx: RelayContext,
  head: RequestHead,
  key: ApiKeyRecord,
  daemonId: string | undefined
) =>
  emit(ctx, {
    kind: "session_created",
    user_id: key.user_id,
    detail: { key_id: key.key_id, daemon_id: daemonId ?? null, client: ctx.clientIp(head) }
  })

/**
 * `session_ended` for a session this request ends: signed out, or replaced by a new sign-in from
 * the same browser. (The store records the ones it drops itself: expired, or their key revoked.)
 */
export const auditSessionEnded = (
  ctx: RelayContext,
  head: RequestHead,
  session: RelaySession,
  reason: "logout" | "replaced"
) =>
  emit(ctx, {
    kind: "session_ended",
    user_id: session.user_id,
    detail: { key_id: session.key_id, reason, client: ctx.clientIp(head) }
  })

/** `session_ended` for the session this request signs out of (looked up before it is removed). */
export const auditLogout = (ctx: RelayContext, head: RequestHead) =>
  Effect.gen(function*() {
    if (!auditOf(ctx).enabled) return
    const current = yield* ctx.session(head)
    if (current !== undefined) auditSessionEnded(ctx, head, current.session, "logout")
  })

/** `registration` and the `key_minted` it implies. */
export const auditRegistration = (ctx: RelayContext, head: RequestHead, record: ApiKeyRecord) => {
  const client = ctx.clientIp(head)
  emit(ctx, { kind: "registration", user_id: record.user_id, detail: { client } })
  emit(ctx, { kind: "key_minted", user_id: record.user_id, detail: { key_id: record.key_id, via: "register", client } })
}

/** `key_rotated`: a new key minted, the old one revoked, its sessions and tunnels ended. */
export const auditRotation = (
  ctx: RelayContext,
  head: RequestHead,
  issued: { readonly user_id: string; readonly key_id: string; readonly revoked_key_id?: string | undefined }
) =>
  emit(ctx, {
    kind: "key_rotated",
    user_id: issued.user_id,
    detail: { key_id: issued.key_id, revoked_key_id: issued.revoked_key_id ?? null, client: ctx.clientIp(head) }
  })

/** `tunnel_connected` now and `tunnel_closed` when the daemon's WebSocket closes. */
export const auditTunnel = (ctx: RelayContext, req: IncomingMessage, info: TunnelInfo, ws: WebSocket) => {
  const started = Date.now()
  const client = clientOf(ctx, req)
  const detail = { daemon_id: info.daemonId, key_id: info.keyId, client }
  emit(ctx, { kind: "tunnel_connected", user_id: info.userId, detail })
  ws.once("close", (code: number) =>
    emit(ctx, {
      kind: "tunnel_closed",
      user_id: info.userId,
      detail: { ...detail, code, duration_ms: Date.now() - started }
    }))
}

/** The request line and headers as sent, which the socket had read before the relay saw the request. */
const headBytes = (req: IncomingMessage) =>
  (req.method ?? "").length + (req.url ?? "").length + 12 +
  req.rawHeaders.reduce((n, h, i) => n + Buffer.byteLength(h) + (i % 2 === 0 ? 2 : 2), 2)

/** Bytes each way for this request: its head and body in, everything written back (headers included). */
const counters = (req: IncomingMessage) => {
  const socket = req.socket
  const read = socket.bytesRead
  const written = socket.bytesWritten
  const head = headBytes(req)
  return () => ({ bytes_in: head + socket.bytesRead - read, bytes_out: socket.bytesWritten - written })
}

/**
 * The pairing handshake's last step crosses the relay unsealed (it is what sets the sealed
 * channel up): a success there is a device paired, the one pairing the relay can see. Its body
 * (the device's name and key) is the handshake's, never read here.
 */
const PAIRING_FINISH = SealedGroup.endpoints.finish!

/**
 * One `request` record per tunnelled browser request, when its answer is done or abandoned:
 * method and path (no query), status, bytes each way on the client's connection (headers
 * included), duration and client address.
 */
export const auditRequest = (
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  session: RelaySession
) => {
  if (!auditOf(ctx).enabled) return
  const started = performance.now()
  const bytes = counters(req)
  const client = clientOf(ctx, req)
  res.once("close", () => {
    const method = req.method ?? "GET"
    const path = tunnelPathname(req.url ?? "/") ?? null
    const status = res.headersSent ? res.statusCode : null
    const { bytes_in, bytes_out } = bytes()
    emit(ctx, {
      kind: "request",
      user_id: session.user_id,
      // Keys in sorted order: the audit worker's canonical JSON of it is then one JSON.stringify.
      detail: {
        bytes_in,
        bytes_out,
        client,
        completed: res.writableFinished,
        daemon_id: session.daemon_id,
        duration_ms: Math.round(performance.now() - started),
        method,
        path,
        status
      }
    })
    if (status === 200 && path === PAIRING_FINISH.path && method === PAIRING_FINISH.method) {
      emit(ctx, { kind: "device_paired", user_id: session.user_id, detail: { daemon_id: session.daemon_id, client } })
    }
  })
}

/** The same for a browser WebSocket bridged to the daemon, recorded when its socket closes. */
export const auditUpgrade = (ctx: RelayContext, req: IncomingMessage, socket: Duplex, session: RelaySession) => {
  if (!auditOf(ctx).enabled) return
  const started = performance.now()
  const bytes = counters(req)
  const client = clientOf(ctx, req)
  socket.once("close", () => {
    const { bytes_in, bytes_out } = bytes()
    emit(ctx, {
      kind: "request",
      user_id: session.user_id,
      // In sorted order, as above.
      detail: {
        bytes_in,
        bytes_out,
        client,
        daemon_id: session.daemon_id,
        duration_ms: Math.round(performance.now() - started),
        method: "GET",
        path: tunnelPathname(req.url ?? "/") ?? null,
        status: 101,
        upgrade: true
      }
    })
  })
}
