import { spawn } from "node:child_process"
import { existsSync, fchmodSync, fstatSync, openSync, readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ConfigFile } from "../../protocol/ConfigFile.js"
import { HealthAnswer } from "../../protocol/DaemonAnswers.js"
import { daemonUrl, isAlive, readRuntime, type RepowirePaths } from "../../protocol/HomeFiles.js"
import * as S from "../../protocol/MiniSchema.js"

/**
 * Starting and stopping the detached daemon, in plain Node (no Effect runtime), so a hook can
 * call it on the agent's hot path without paying for the CLI's start-up.
 */

/**
 * Node flags for the daemon process; `npm start` passes the same.
 * - `--no-memory-reducer`: V8's memory reducer shrinks the heap with a few full collections
 *   (0.1-0.3 s of CPU) at unpredictable moments after activity stops; on an idle daemon that
 *   was nearly all the CPU it used. The heap keeps ~30 MB it could have returned.
 * - `--max-semi-space-size=32`: a young generation twice the default halves the number of
 *   scavenges under load, and with them the pauses that made the slowest 1% of asks slow.
 *   It costs ~30 MB more resident memory after a burst of traffic.
 * - `--v8-pool-size=1`: one V8 helper thread instead of four. Concurrent marking ran on several
 *   helpers at once, and on a 2-core machine the event loop then waited for a CPU in the middle
 *   of an ask (4-10 ms, measured from the thread's run-queue wait). Background GC work takes
 *   longer in wall time; nothing waits on it.
 */
export const DAEMON_NODE_FLAGS: ReadonlyArray<string> = [
  "--no-memory-reducer",
  "--max-semi-space-size=32",
  "--v8-pool-size=1"
]

/** GET /health with a short timeout: whether a daemon answers it. */
const daemonAnswers = (baseUrl: string, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const url = new URL("/health", baseUrl)
    const req = http.get(url, { timeout: timeoutMs, headers: { host: url.host } }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 && S.decode(HealthAnswer, JSON.parse(body)).ok)
        } catch {
          resolve(false)
        }
      })
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(false))
  })

/** dist/bin.mjs: this process's own entry when it is the bundle, else the repo's build. */
export const binPath = (): string => {
  const argv1 = process.argv[1]
  if (argv1 !== undefined && /bin\.mjs$/.test(argv1)) return argv1
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return path.join(dir, "dist", "bin.mjs")
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class DaemonStartError extends Error {}

/**
 * Starts the daemon detached unless one answers already. Concurrent callers (several hooks at
 * once) share one start through an exclusive lock file.
 */
export const ensureDaemon = async (
  paths: RepowirePaths,
  values: ConfigFile,
  options: { readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv } = {}
): Promise<{ readonly started: boolean; readonly baseUrl: string }> => {
  const timeoutMs = options.timeoutMs ?? 15_000
  const current = daemonUrl(paths, values)
  if (await daemonAnswers(current)) return { started: false, baseUrl: current }
  await fs.mkdir(paths.home, { recursive: true, mode: 0o700 })
  const lock = path.join(paths.home, "daemon.lock")
  let owner = false
  try {
    await fs.writeFile(lock, String(process.pid), { flag: "wx", mode: 0o600 })
    owner = true
  } catch {
    const stat = await fs.stat(lock).catch(() => undefined)
    if (stat !== undefined && Date.now() - stat.mtimeMs > timeoutMs) {
      await fs.rm(lock, { force: true })
      return ensureDaemon(paths, values, options)
    }
  }
  try {
    // A daemon that exits at once (an invalid config.yaml or policy.yaml) says why in its log.
    let exited: (() => string) | undefined
    if (owner) {
      const log = openSync(paths.logFile, "a", 0o600)
      // The mode applies to a new file only; a log from an older daemon may be 0644.
      fchmodSync(log, 0o600)
      const from = fstatSync(log).size
      const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, binPath(), "serve"], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...(options.env ?? process.env), REPOWIRE_HOME: paths.home }
      })
      child.once("exit", () => {
        exited = () => readFileSync(paths.logFile, "utf8").slice(from).trim().split("\n").pop() ?? ""
      })
      child.unref()
    }
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      await sleep(50)
      if (exited !== undefined) throw new DaemonStartError(`the daemon exited: ${exited().replace(/^repowire: /, "")}`)
      const url = daemonUrl(paths, values)
      if (readRuntime(paths) !== undefined && await daemonAnswers(url, 500)) return { started: owner, baseUrl: url }
    }
    throw new DaemonStartError(`the daemon did not answer within ${timeoutMs / 1000}s; see ${paths.logFile}`)
  } finally {
    if (owner) await fs.rm(lock, { force: true })
  }
}

/** Stops the running daemon (SIGTERM, then SIGKILL after the grace period). */
export const stopDaemon = async (paths: RepowirePaths, graceMs = 5000): Promise<boolean> => {
  const running = readRuntime(paths)
  if (running === undefined || !isAlive(running.pid)) {
    await fs.rm(paths.runtimeFile, { force: true })
    return false
  }
  process.kill(running.pid, "SIGTERM")
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!isAlive(running.pid)) return true
    await sleep(50)
  }
  process.kill(running.pid, "SIGKILL")
  await fs.rm(paths.runtimeFile, { force: true })
  return true
}
