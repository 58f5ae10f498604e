import * as fs from "node:fs"
import * as path from "node:path"
import { resolvePaths } from "../../protocol/HomeFiles.js"

/** What a registered session keeps on disk (mode 0600): enough to act as its peer. */
export interface SessionRecord {
  readonly key: string
  readonly peer_id: string
  readonly token: string
  readonly display_name: string
  readonly circle: string
  readonly backend: string
  readonly path: string
  readonly pane: string | null
  readonly tmux_socket: string | null
  readonly base_url: string
  /** daemon.auth_token as of registration, so a hook need not parse config.yaml; a 401 re-reads it. */
  readonly auth_token: string | null
  /** Asks already handed to the agent by a Stop hook, so it is not asked twice. */
  readonly reminded?: ReadonlyArray<string>
  readonly delivery_pid?: number
  /** The last assistant text reported: Gemini CLI's AfterAgent repeats it ahead of the next answer. */
  readonly last_assistant?: string
}

export const sessionFile = (key: string, env: NodeJS.ProcessEnv = process.env) =>
  path.join(resolvePaths(env).sessionsDir, `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.json`)

const isRecord = (u: unknown): u is SessionRecord => {
  if (typeof u !== "object" || u === null) return false
  const r = u as Record<string, unknown>
  return ["key", "peer_id", "token", "display_name", "circle", "backend", "path", "base_url"].every((k) =>
    typeof r[k] === "string"
  )
}

export const readSession = (key: string, env: NodeJS.ProcessEnv = process.env): SessionRecord | null => {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(sessionFile(key, env), "utf8"))
    return isRecord(parsed) ? parsed : null
  } catch {
    return null
  }
}

/** Atomic write, 0600, in a 0700 folder. */
export const writeSession = (record: SessionRecord, env: NodeJS.ProcessEnv = process.env): void => {
  const dir = resolvePaths(env).sessionsDir
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = sessionFile(record.key, env)
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 })
  fs.renameSync(tmp, file)
}

export const removeSession = (key: string, env: NodeJS.ProcessEnv = process.env): void => {
  fs.rmSync(sessionFile(key, env), { force: true })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Takes the session's lock file, so the hooks and the MCP server of one session (which start
 * together) register it once, not twice; resolves to its release. A lock older than 10 s is stale.
 */
export const acquireSessionLock = async (key: string, env: NodeJS.ProcessEnv): Promise<() => void> => {
  const lock = `${sessionFile(key, env)}.lock`
  fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 })
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 })
      return () => fs.rmSync(lock, { force: true })
    } catch {
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 10_000 || Date.now() > deadline) fs.rmSync(lock, { force: true })
      else await sleep(25)
    }
  }
}

/** Runs `f` holding the session's lock file. */
export const withSessionLock = async <A>(key: string, env: NodeJS.ProcessEnv, f: () => Promise<A>): Promise<A> => {
  const release = await acquireSessionLock(key, env)
  try {
    return await f()
  } finally {
    release()
  }
}

/** A stored session the caller may use as it is: registered with the daemon at `baseUrl`. */
export const usableSession = (s: SessionRecord | null, baseUrl: string): s is SessionRecord =>
  s !== null && s.base_url === baseUrl
