import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"

export const BIN = path.resolve(import.meta.dirname, "../../dist/bin.mjs")

if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does it)`)

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `repowire …` as a real process with REPOWIRE_HOME = home. */
export const cli = (home: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string) => {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, REPOWIRE_HOME: home, NO_COLOR: "1", ...env },
    encoding: "utf8",
    timeout: 30_000,
    ...(input === undefined ? {} : { input })
  })
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr } satisfies CliResult
}

const readRuntime = (file: string) => {
  try {
    return existsSync(file)
      ? JSON.parse(readFileSync(file, "utf8")) as { pid: number; url: string; port: number }
      : undefined
  } catch {
    return undefined
  }
}

/** `repowire serve` in the foreground as a child process; resolves once it is listening. */
export const spawnDaemon = async (home: string, env: Record<string, string> = {}) => {
  const child: ChildProcess = spawn(process.execPath, [BIN, "serve"], {
    env: { ...process.env, REPOWIRE_HOME: home, REPOWIRE_DAEMON__PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (c) => (output += c))
  child.stderr?.on("data", (c) => (output += c))
  const runtime = path.join(home, "daemon.json")
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const info = readRuntime(runtime)
    if (info !== undefined && info.pid === child.pid) {
      return {
        child,
        url: info.url,
        port: info.port,
        output: () => output
      }
    }
    if (child.exitCode !== null) throw new Error(`daemon exited: ${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill("SIGKILL")
  throw new Error(`daemon did not start: ${output}`)
}
