import * as fs from "node:fs"
import * as path from "node:path"
import { dirname } from "node:path"
import { HUMAN_CREDENTIAL_FILE, repowireHome } from "../../protocol/HomeFiles.js"
import * as S from "../../protocol/MiniSchema.js"
import { type DaemonTarget, errorMessage, requestJson } from "./DaemonHttp.js"
import { type AgentIdentity, tmuxSessionName } from "./Identity.js"
import { readSession, sessionFile, type SessionRecord, writeSession } from "./Sessions.js"

/** The daemon's answer to POST /peers, as far as a session keeps it. */
const Registered = S.struct({ peer_id: S.string, display_name: S.string, circle: S.string, token: S.string })

export class RegistrationError extends Error {}

/** What proves a human registration: the local human credential, else the daemon's auth token. */
const humanCredentialHeaders = (target: DaemonTarget, env: NodeJS.ProcessEnv): Record<string, string> => {
  let credential: string | null = target.authToken
  try {
    credential = fs.readFileSync(path.join(repowireHome(env), HUMAN_CREDENTIAL_FILE), "utf8").trim()
  } catch {
    // No file (a daemon from before it existed, or another home): the auth token, if any.
  }
  return credential ? { "x-repowire-human-credential": credential } : {}
}

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
    name: identity.name,
    backend: identity.backend,
    path: identity.path,
    ...(circle ? { circle } : {}),
    ...(extra.description ? { description: extra.description } : {}),
    ...(extra.role ? { role: extra.role } : {}),
    metadata: identity.pane ? { tmux_pane: identity.pane } : {}
  }
  const headers = extra.role === "human" ? humanCredentialHeaders(target, env) : {}
  let res = previous
    ? await requestJson(target, "POST", "/peers", {
      body: { ...body, peer_id: previous.peer_id },
      peerToken: previous.token,
      headers
    })
    : undefined
  if (res === undefined || res.status === 401 || res.status === 403 || res.status === 404) {
    res = await requestJson(target, "POST", "/peers", { body, headers })
  }
  if (res.status !== 201 && res.status !== 200) throw new RegistrationError(`cannot register: ${errorMessage(res)}`)
  const decoded = S.decode(Registered, res.body)
  if (!decoded.ok) throw new RegistrationError("cannot register: unexpected answer from the daemon")
  const registered = decoded.value
  const record: SessionRecord = {
    key: identity.key,
    peer_id: registered.peer_id,
    token: registered.token,
    display_name: registered.display_name,
    circle: registered.circle,
    backend: identity.backend,
    path: identity.path,
    pane: identity.pane,
    tmux_socket: identity.tmuxSocket,
    base_url: target.baseUrl,
    auth_token: target.authToken,
    reminded: previous?.peer_id === registered.peer_id ? previous.reminded ?? [] : [],
    ...(previous?.delivery_pid !== undefined ? { delivery_pid: previous.delivery_pid } : {})
  }
  writeSession(record, env)
  return record
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `f` holding the session's lock file, so the hooks and the MCP server of one session
 * (which start together) register it once, not twice. A lock older than 10 s is stale.
 */
export const withSessionLock = async <A>(key: string, env: NodeJS.ProcessEnv, f: () => Promise<A>): Promise<A> => {
  const lock = `${sessionFile(key, env)}.lock`
  fs.mkdirSync(dirname(lock), { recursive: true, mode: 0o700 })
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 })
      break
    } catch {
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 10_000 || Date.now() > deadline) fs.rmSync(lock, { force: true })
      else await sleep(25)
    }
  }
  try {
    return await f()
  } finally {
    fs.rmSync(lock, { force: true })
  }
}

/** The stored session when it points at this daemon, else a registration (once per session). */
export const ensureSession = async (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv = process.env,
  extra: Parameters<typeof registerSession>[3] = {}
): Promise<SessionRecord> => {
  const usable = (s: SessionRecord | null): s is SessionRecord => s !== null && s.base_url === target.baseUrl
  const current = readSession(identity.key, env)
  if (usable(current)) return current
  return withSessionLock(identity.key, env, async () => {
    const now = readSession(identity.key, env)
    return usable(now) ? now : registerSession(identity, target, env, extra)
  })
}

/**
 * Registers again after the daemon refused `stalePeerId`, unless another process of the same
 * session (a parallel hook, the MCP server) already did: then its registration is used.
 */
export const renewSession = (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv,
  stalePeerId: string | undefined,
  extra: Parameters<typeof registerSession>[3] = {}
): Promise<SessionRecord> =>
  withSessionLock(identity.key, env, async () => {
    const now = readSession(identity.key, env)
    return now !== null && now.peer_id !== stalePeerId && now.base_url === target.baseUrl
      ? now
      : registerSession(identity, target, env, extra)
  })
