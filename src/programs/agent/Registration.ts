import { type DaemonTarget, errorMessage, requestJson } from "./DaemonHttp.js"
import { type AgentIdentity, tmuxSessionName } from "./Identity.js"
import { readSession, type SessionRecord, writeSession } from "./Sessions.js"

interface RegisteredBody {
  readonly peer_id: string
  readonly display_name: string
  readonly circle: string
  readonly token: string
}

const isRegistered = (u: unknown): u is RegisteredBody =>
  typeof u === "object" && u !== null &&
  ["peer_id", "display_name", "circle", "token"].every((k) => typeof (u as Record<string, unknown>)[k] === "string")

export class RegistrationError extends Error {}

/**
 * Registers the session's peer, resuming the one it had (same peer id, its own token) when the
 * daemon still knows it, and stores peer id + token in the session file. A daemon that forgot
 * the peer (new state file) gets a fresh registration.
 */
export const registerSession = async (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv = process.env,
  extra: { readonly description?: string; readonly circle?: string; readonly role?: "agent" | "human" } = {}
): Promise<SessionRecord> => {
  const previous = readSession(identity.key, env)
  const circle = extra.circle ?? previous?.circle ?? tmuxSessionName(identity) ?? undefined
  const body = {
    name: previous?.display_name.replace(/-\d+$/, "") ?? identity.name,
    backend: identity.backend,
    path: identity.path,
    ...(circle ? { circle } : {}),
    ...(extra.description ? { description: extra.description } : {}),
    ...(extra.role ? { role: extra.role } : {}),
    metadata: identity.pane ? { tmux_pane: identity.pane } : {}
  }
  let res = previous
    ? await requestJson(target, "POST", "/peers", { body: { ...body, peer_id: previous.peer_id }, peerToken: previous.token })
    : undefined
  if (res === undefined || res.status === 401 || res.status === 403 || res.status === 404) {
    res = await requestJson(target, "POST", "/peers", { body })
  }
  if (res.status !== 201 && res.status !== 200) throw new RegistrationError(`cannot register: ${errorMessage(res)}`)
  if (!isRegistered(res.body)) throw new RegistrationError("cannot register: unexpected answer from the daemon")
  const record: SessionRecord = {
    key: identity.key,
    peer_id: res.body.peer_id,
    token: res.body.token,
    display_name: res.body.display_name,
    circle: res.body.circle,
    backend: identity.backend,
    path: identity.path,
    pane: identity.pane,
    tmux_socket: identity.tmuxSocket,
    base_url: target.baseUrl,
    auth_token: target.authToken,
    reminded: previous?.peer_id === res.body.peer_id ? previous.reminded ?? [] : [],
    ...(previous?.delivery_pid !== undefined ? { delivery_pid: previous.delivery_pid } : {})
  }
  writeSession(record, env)
  return record
}

/** The stored session when it points at this daemon, else a fresh registration. */
export const ensureSession = async (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv = process.env
): Promise<SessionRecord> => {
  const current = readSession(identity.key, env)
  return current && current.base_url === target.baseUrl ? current : registerSession(identity, target, env)
}
