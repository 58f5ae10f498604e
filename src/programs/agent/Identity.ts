import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as os from "node:os"
import * as path from "node:path"

export type AgentBackend = "claude-code" | "codex" | "gemini" | "opencode" | "cli"

export const AGENT_BACKENDS: ReadonlyArray<AgentBackend> = ["claude-code", "codex", "gemini", "opencode"]

export const isAgentBackend = (s: string): s is AgentBackend =>
  (AGENT_BACKENDS as ReadonlyArray<string>).includes(s) || s === "cli"

/** Who the calling agent session is, from its environment. */
export interface AgentIdentity {
  readonly backend: AgentBackend
  readonly path: string
  readonly name: string
  readonly pane: string | null
  readonly tmuxSocket: string | null
  /** Stable across the MCP server, the hooks and the delivery process of one session. */
  readonly key: string
}

const sanitize = (s: string) => {
  const cleaned = s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 63)
  return cleaned === "" ? "agent" : cleaned
}

export const sanitizeName = sanitize

const digest = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16)

/** A session's peer name: $REPOWIRE_PEER_NAME (or upstream's $REPOWIRE_DISPLAY_NAME), else its folder's name. */
export const peerNameFor = (cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  sanitize(env.REPOWIRE_PEER_NAME || env.REPOWIRE_DISPLAY_NAME || path.basename(cwd) || os.hostname())

/** The session key of an agent in tmux pane `pane` of the server at `tmuxSocket`, or in `cwd` outside tmux. */
export const sessionKeyFor = (
  backend: AgentBackend,
  where: { readonly tmuxSocket: string | null; readonly pane: string } | { readonly cwd: string }
) => `${backend}-${digest("pane" in where ? `tmux:${where.tmuxSocket}:${where.pane}` : `cwd:${where.cwd}`)}`

export const resolveIdentity = (
  backend: AgentBackend,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd()
): AgentIdentity => {
  const pane = env.TMUX_PANE && env.TMUX ? env.TMUX_PANE : null
  const tmuxSocket = pane && env.TMUX ? env.TMUX.split(",")[0] ?? null : null
  const name = peerNameFor(cwd, env)
  const key = sessionKeyFor(backend, pane ? { tmuxSocket, pane } : { cwd })
  return { backend, path: cwd, name, pane, tmuxSocket, key }
}

/** The tmux session name of a pane: the peer's default circle. Null outside tmux. */
export const tmuxSessionName = (identity: AgentIdentity): string | null => {
  if (identity.pane === null) return null
  try {
    const args = [
      ...(identity.tmuxSocket ? ["-S", identity.tmuxSocket] : []),
      "display-message",
      "-p",
      "-t",
      identity.pane,
      "#S"
    ]
    const out = execFileSync("tmux", args, { encoding: "utf8", timeout: 1000, stdio: ["ignore", "pipe", "ignore"] })
      .trim()
    return /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(out) ? out : out === "" ? null : sanitize(out)
  } catch {
    return null
  }
}
