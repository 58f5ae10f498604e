import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { repowireHome } from "../../protocol/HomeFiles.js"
import { type SessionRecord, writeSession } from "../agent/Sessions.js"

/** The recorded pid is still this session's delivery process (not a recycled pid). */
const isOurs = (session: SessionRecord) => {
  const pid = session.delivery_pid
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(session.key)
  } catch {
    return process.platform !== "linux"
  }
}

export const stopDelivery = (session: SessionRecord) => {
  if (!isOurs(session)) return
  try {
    process.kill(session.delivery_pid!, "SIGTERM")
  } catch {
    // already gone
  }
}

/**
 * Starts the pane's delivery process, detached, logging to $REPOWIRE_HOME/logs. One that runs
 * already is replaced: the peer may have been registered again since it started.
 */
export const startDelivery = (session: SessionRecord, env: NodeJS.ProcessEnv): SessionRecord => {
  if (session.pane === null) return session
  stopDelivery(session)
  const logs = path.join(repowireHome(env), "logs")
  fs.mkdirSync(logs, { recursive: true, mode: 0o700 })
  const log = fs.openSync(path.join(logs, `delivery-${session.key}.log`), "a", 0o600)
  const child = spawn(process.execPath, [process.argv[1]!, "hook", "deliver", "--key", session.key], {
    detached: true,
    stdio: ["ignore", log, log],
    env
  })
  child.unref()
  fs.closeSync(log)
  const next = { ...session, ...(child.pid !== undefined ? { delivery_pid: child.pid } : {}) }
  writeSession(next, env)
  return next
}
