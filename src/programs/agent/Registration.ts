import * as fs from "node:fs"
import * as path from "node:path"
import { HUMAN_CREDENTIAL_FILE, repowireHome } from "../../protocol/HomeFiles.js"
import type { Registered, RegisterPeer } from "../../protocol/Peer.js"
import { type AgentIdentity, tmuxSessionName } from "./Identity.js"
import { readSession, type SessionRecord, writeSession } from "./Sessions.js"

/**
 * What a session's registration sends and keeps, whichever client sends it: the hook's promise
 * client (hook/Register.ts) or the typed DaemonClient of the CLI and the MCP server (PeerSession.ts).
 */

export interface RegistrationExtra {
  readonly description?: string
  readonly circle?: string
  readonly role?: "agent" | "human"
}

/** The daemon a session registers with: its URL and auth token (kept in the session file). */
export interface DaemonTarget {
  readonly baseUrl: string
  readonly authToken: string | null
}

export interface Registration {
  /** The stored session, whose peer a registration resumes (same peer id, its own token). */
  readonly previous: SessionRecord | null
  readonly request: Omit<RegisterPeer, "peer_id">
  /** For a human: the local human credential, else the daemon's auth token. */
  readonly humanCredential: string | undefined
}

/** What proves a human registration: the local human credential, else the daemon's auth token. */
const humanCredential = (authToken: string | null, env: NodeJS.ProcessEnv): string | undefined => {
  let credential: string | null = authToken
  try {
    credential = fs.readFileSync(path.join(repowireHome(env), HUMAN_CREDENTIAL_FILE), "utf8").trim()
  } catch {
    // No file (a daemon from before it existed, or another home): the auth token, if any.
  }
  return credential ? credential : undefined
}

export const registrationOf = (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv,
  extra: RegistrationExtra
): Registration => {
  const previous = readSession(identity.key, env)
  const circle = extra.circle ?? previous?.circle ?? tmuxSessionName(identity) ?? undefined
  return {
    previous,
    request: {
      name: identity.name,
      backend: identity.backend,
      path: identity.path,
      ...(circle ? { circle } : {}),
      ...(extra.description ? { description: extra.description } : {}),
      ...(extra.role ? { role: extra.role } : {}),
      metadata: identity.pane ? { tmux_pane: identity.pane } : {}
    },
    humanCredential: extra.role === "human" ? humanCredential(target.authToken, env) : undefined
  }
}

/** Stores the daemon's answer as the session (0600); asks reminded stay reminded for the same peer. */
export const keepRegistration = (
  identity: AgentIdentity,
  target: DaemonTarget,
  previous: SessionRecord | null,
  registered: Pick<Registered, "display_name" | "circle" | "token"> & { readonly peer_id: string },
  env: NodeJS.ProcessEnv
): SessionRecord => {
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
