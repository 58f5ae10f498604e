import type { AuditPage } from "./state/accessLog.js"
import type { Ask, AttachmentRef, Health, MeshEvent, Peer, PolicyView, Schedule } from "./state/types.js"
import { transportFetch } from "./transport.js"

// Every URL is relative to the page (served at …/dashboard), so the same build works on the
// daemon and through the relay. Credentials are cookies the server set; page JS holds none.
// Through a relay that requires the sealed tunnel, transportFetch carries them sealed.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

const request = async <A>(url: string, init?: RequestInit): Promise<A> => {
  const response = await transportFetch(url, {
    credentials: "same-origin",
    ...init,
    headers: { accept: "application/json", ...init?.headers }
  })
  if (!response.ok) {
    let code = "http_error"
    let message = `${response.status} ${response.statusText}`
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } }
      code = body.error?.code ?? code
      message = body.error?.message ?? message
    } catch {
      // not a JSON error body
    }
    if (response.status === 401) sessionEnded()
    throw new ApiError(response.status, code, message)
  }
  return (await response.json()) as A
}

/**
 * The page's session is its cookie; when the daemon no longer knows it (restarted, logged out,
 * expired) a reload gets a new one, or the login form. At most once a minute, never a loop.
 */
const sessionEnded = () => {
  const last = Number(sessionStorage.getItem("repowire.reloadedAt") ?? 0)
  if (Date.now() - last < 60_000) return
  sessionStorage.setItem("repowire.reloadedAt", String(Date.now()))
  location.reload()
}

const post = <A>(url: string, body: unknown) =>
  request<A>(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

export const getHealth = () => request<Health>("health")
export const getPolicy = () => request<PolicyView>("policy")
export const getPeers = () => request<{ peers: ReadonlyArray<Peer> }>("peers?all=true").then((b) => b.peers)
export const getAsks = () => request<{ asks: ReadonlyArray<Ask> }>("asks?limit=1000").then((b) => b.asks)
export const getEvents = (url: string) => request<{ events: ReadonlyArray<MeshEvent> }>(url).then((b) => b.events)

export const FROM = "dashboard"

export interface SendAsk {
  readonly kind: "ask"
  readonly to_peer: string
  readonly text: string
  readonly reply_to?: string
  readonly attachments: ReadonlyArray<string>
}
export interface SendNotify {
  readonly kind: "notify"
  readonly to_peer: string
  readonly text: string
  readonly attachments: ReadonlyArray<string>
}
export interface SendBroadcast {
  readonly kind: "broadcast"
  readonly circle: string
  readonly text: string
  readonly attachments: ReadonlyArray<string>
}
export type Send = SendAsk | SendNotify | SendBroadcast

/** Sends as the built-in `dashboard` human peer; returns a one-line result. */
export const send = async (message: Send): Promise<string> => {
  const attachments = message.attachments.length > 0 ? { attachments: message.attachments } : {}
  switch (message.kind) {
    case "ask": {
      const body = { from_peer: FROM, to_peer: message.to_peer, text: message.text, ...attachments }
      const r = await post<{ correlation_id: string; delivery: string }>(
        "ask",
        message.reply_to === undefined ? body : { ...body, reply_to: message.reply_to }
      )
      return `${r.correlation_id} ${r.delivery}`
    }
    case "notify": {
      const r = await post<{ id: string; delivery: string }>("notify", {
        from_peer: FROM,
        to_peer: message.to_peer,
        text: message.text,
        ...attachments
      })
      return `${r.id} ${r.delivery}`
    }
    case "broadcast": {
      const circle = message.circle === "" ? {} : { circle: message.circle }
      const r = await post<{ delivered: ReadonlyArray<string>; queued: ReadonlyArray<string> }>("broadcast", {
        from_peer: FROM,
        text: message.text,
        ...circle,
        ...attachments
      })
      return `broadcast: ${r.delivered.length} delivered, ${r.queued.length} queued`
    }
  }
}

export const uploadFiles = async (files: ReadonlyArray<File>): Promise<ReadonlyArray<AttachmentRef>> => {
  if (files.length === 0) return []
  const form = new FormData()
  for (const file of files) form.append("file", file, file.name)
  const body = await request<{ attachments: ReadonlyArray<AttachmentRef> }>("attachments", {
    method: "POST",
    body: form
  })
  return body.attachments
}

export const attachmentUrl = (id: string) => `attachments/${encodeURIComponent(id)}`

/** Answers an ask made of the dashboard: with a reply, or bare ("seen"). */
export const ack = async (correlationId: string, message: string): Promise<string> => {
  const body = message.trim() === "" ? { correlation_id: correlationId } : { correlation_id: correlationId, message }
  const r = await post<{ correlation_id: string; reply: { id: string; delivery: string } | null }>("ack", body)
  return r.reply === null ? "acked" : `replied (${r.reply.delivery})`
}

export const getSchedules = () => request<{ schedules: ReadonlyArray<Schedule> }>("schedules").then((b) => b.schedules)

/** Deletes a schedule; the dashboard is a human, so it may delete anyone's. */
export const deleteSchedule = (id: string) =>
  request<Schedule>(`schedules/${encodeURIComponent(id)}`, { method: "DELETE" })

export interface SpawnForm {
  readonly path: string
  readonly backend: string
  readonly circle: string
  readonly message: string
}

/** Starts an agent in a tmux window (local daemon only: the relay never carries this). */
export const spawnAgent = async (form: SpawnForm): Promise<string> => {
  const body = {
    path: form.path,
    backend: form.backend,
    ...(form.circle.trim() === "" ? {} : { circle: form.circle.trim() }),
    ...(form.message.trim() === "" ? {} : { message: form.message })
  }
  const r = await post<{ display_name: string; circle: string; tmux_session: string; tmux_window: string }>(
    "spawn",
    body
  )
  return `started ${r.display_name} in circle ${r.circle} (tmux ${r.tmux_session}:${r.tmux_window})`
}

/**
 * The signed-in user's own audit chain, from the relay (`GET /_relay/audit`, the relay's session
 * cookie on its origin). `null` when this page is not served through a relay: the daemon does
 * not answer that path. Not through `request`: a 401 here must not reload the page.
 */
export const getAuditPage = async (since: number, limit: number): Promise<AuditPage | null> => {
  const response = await fetch(`/_relay/audit?since=${since}&limit=${limit}`, {
    credentials: "same-origin",
    headers: { accept: "application/json" }
  })
  const json = (response.headers.get("content-type") ?? "").includes("application/json")
  if (response.status === 404 || !json) return null
  if (!response.ok) {
    const body = (await response.json()) as { error?: { code?: string; message?: string } }
    throw new ApiError(response.status, body.error?.code ?? "http_error", body.error?.message ?? response.statusText)
  }
  return (await response.json()) as AuditPage
}
