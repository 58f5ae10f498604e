import { Effect, Option } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import type { WebSocket } from "ws"
import type { AuditEvent } from "../../protocol/Audit.js"
import { SealedGroup } from "../../protocol/SealedApi.js"
import { tunnelPathname } from "../../protocol/TunnelRoutes.js"
import type { ApiKeyRecord } from "../../services/ApiKeys.js"
import type { TunnelInfo } from "../../services/RelayRouter.js"
import type { RelaySession } from "../../services/RelaySessions.js"
import type { RelayContext, RequestHead } from "./RelayContext.js"

/**
 * One call per place the relay's node:http handlers emit an audit record. Each only queues
 * (the batch writer appends later); none reads a body, a cookie or a key.
 */
const clientOf = (ctx: RelayContext, req: IncomingMessage) =>
  ctx.clientIp({ address: req.socket.remoteAddress, headers: req.headers })

const emit = (ctx: RelayContext, event: AuditEvent) => {
  if (ctx.audit.enabled) ctx.audit.record(event)
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
    if (!ctx.audit.enabled) return
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

/**
 * The request line and headers as sent, which the socket had read before the relay saw the
 * request. Node reads header bytes as latin1, one character each, so a string's length is its size.
 */
const headBytes = (req: IncomingMessage) => {
  // "METHOD URL HTTP/1.1\r\n", each header "name: value\r\n", then the blank line.
  let n = (req.method ?? "").length + (req.url ?? "").length + 12 + 2
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + 2
  return n
}

/**
 * The pairing handshake's last step crosses the relay unsealed (it is what sets the sealed
 * channel up): a success there is a device paired, the one pairing the relay can see. Its body
 * (the device's name and key) is the handshake's, never read here.
 */
const PAIRING_FINISH = SealedGroup.endpoints.finish!

/** A tunnelled browser request as the proxy placed it: its session, client address and allowed path. */
export interface ProxiedRequest {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly session: RelaySession
  readonly client: string
  readonly method: string
  /** Without its query. */
  readonly path: string
}

/**
 * One `request` record per tunnelled browser request, when its answer is done or abandoned:
 * method and path (no query), status, bytes each way on the client's connection (headers
 * included), duration and client address. This runs on every proxied request, so it reads what
 * the proxy already worked out and keeps one listener and one closure.
 */
export const auditRequest = (ctx: RelayContext, request: ProxiedRequest) => {
  const audit = ctx.audit
  if (!audit.enabled) return
  const { client, method, path, req, res, session } = request
  const started = Date.now()
  const socket = req.socket
  const read = socket.bytesRead - headBytes(req)
  const written = socket.bytesWritten
  // A response emits "close" once, so a plain listener does what `once` would without its wrapper.
  res.on("close", () => {
    const status = res.headersSent ? res.statusCode : null
    audit.record({
      kind: "request",
      user_id: session.user_id,
      // Keys in sorted order: the audit worker's canonical JSON of it is then one JSON.stringify.
      detail: {
        bytes_in: socket.bytesRead - read,
        bytes_out: socket.bytesWritten - written,
        client,
        completed: res.writableFinished,
        daemon_id: session.daemon_id,
        duration_ms: Date.now() - started,
        method,
        path,
        status
      }
    })
    if (status === 200 && path === PAIRING_FINISH.path && method === PAIRING_FINISH.method) {
      audit.record({
        kind: "device_paired",
        user_id: session.user_id,
        detail: { daemon_id: session.daemon_id, client }
      })
    }
  })
}

/** The same for a browser WebSocket bridged to the daemon, recorded when its socket closes. */
export const auditUpgrade = (
  ctx: RelayContext,
  req: IncomingMessage,
  socket: Duplex,
  session: RelaySession,
  client: string
) => {
  const audit = ctx.audit
  if (!audit.enabled) return
  const started = Date.now()
  const read = req.socket.bytesRead - headBytes(req)
  const written = req.socket.bytesWritten
  socket.once("close", () =>
    audit.record({
      kind: "request",
      user_id: session.user_id,
      // In sorted order, as above.
      detail: {
        bytes_in: req.socket.bytesRead - read,
        bytes_out: req.socket.bytesWritten - written,
        client,
        daemon_id: session.daemon_id,
        duration_ms: Date.now() - started,
        method: "GET",
        path: tunnelPathname(req.url ?? "/") ?? null,
        status: 101,
        upgrade: true
      }
    }))
}
