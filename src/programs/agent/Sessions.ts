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
