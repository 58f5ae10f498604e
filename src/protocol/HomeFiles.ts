// Node built-ins only: the hook reads these without loading effect.
import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import * as path from "node:path"
import type { ConfigFile } from "./ConfigFile.js"
import * as S from "./MiniSchema.js"

/**
 * Files under the repowire home that the daemon and its local clients both use: their names
 * and contents are a contract between them, like the HTTP API.
 */

/** The local human credential: made by the daemon (0600), presented by the CLI to register as a human. */
export const HUMAN_CREDENTIAL_FILE = "human.token"

/** Where repowire keeps its state: ~/.repowire unless REPOWIRE_HOME is set. */
export interface RepowirePaths {
  readonly home: string
  readonly configFile: string
  readonly stateDb: string
  /** `daemon.json`: pid, port and URL of the running daemon (0600, removed on exit). */
  readonly runtimeFile: string
  readonly logFile: string
  readonly attachmentsDir: string
  readonly sessionsDir: string
}

export const repowireHome = (env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(env.REPOWIRE_HOME && env.REPOWIRE_HOME !== "" ? env.REPOWIRE_HOME : path.join(homedir(), ".repowire"))

export const resolvePaths = (env: NodeJS.ProcessEnv = process.env): RepowirePaths => {
  const home = repowireHome(env)
  return {
    home,
    configFile: path.join(home, "config.yaml"),
    stateDb: path.join(home, "state.db"),
    runtimeFile: path.join(home, "daemon.json"),
    logFile: path.join(home, "daemon.log"),
    attachmentsDir: path.join(home, "attachments"),
    sessionsDir: path.join(home, "sessions")
  }
}

/** What the daemon writes to its runtime file once it listens. */
export interface RuntimeInfo {
  readonly pid: number
  readonly port: number
  readonly url: string
}

const RuntimeInfo: S.Decoder<RuntimeInfo> = S.struct({ pid: S.number, port: S.number, url: S.string })

/** The runtime file's contents, or undefined when there is none (or it is not the daemon's). */
export const readRuntime = (paths: Pick<RepowirePaths, "runtimeFile">): RuntimeInfo | undefined => {
  try {
    const decoded = S.decode(RuntimeInfo, JSON.parse(readFileSync(paths.runtimeFile, "utf8")))
    return decoded.ok ? decoded.value : undefined
  } catch {
    return undefined
  }
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The running daemon's URL, when its runtime file names a live process. */
export const runningDaemonUrl = (paths: Pick<RepowirePaths, "runtimeFile">): string | undefined => {
  const running = readRuntime(paths)
  return running !== undefined && isAlive(running.pid) ? running.url : undefined
}

/** The daemon's base URL: the running one's, else the configured address. */
export const daemonUrl = (paths: Pick<RepowirePaths, "runtimeFile">, values: ConfigFile): string =>
  runningDaemonUrl(paths) ?? `http://127.0.0.1:${values.daemon.port}`
