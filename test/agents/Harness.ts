import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as YAML from "yaml"

export const BIN = path.resolve(import.meta.dirname, "../../dist/bin.mjs")

/** The environment of a test process: no tmux of the machine running the tests. */
export const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.TMUX
  delete env.TMUX_PANE
  for (const key of Object.keys(env)) if (key.startsWith("REPOWIRE_") && !(key in extra)) delete env[key]
  return env
}

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export const runBin = (
  args: ReadonlyArray<string>,
  options: {
    readonly env: NodeJS.ProcessEnv
    readonly input?: string
    readonly cwd?: string
    readonly timeoutMs?: number
  }
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [BIN, ...args], { env: options.env, cwd: options.cwd ?? process.cwd() })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(options.input ?? "")
  })

export const httpJson = (
  baseUrl: string,
  method: string,
  pathname: string,
  options: { readonly body?: unknown; readonly headers?: Record<string, string> } = {}
): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> =>
  new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const req = http.request(new URL(pathname, baseUrl), {
      method,
      headers: { ...(payload ? { "content-type": "application/json" } : {}), ...options.headers }
    }, (res) => {
      let text = ""
      res.on("data", (d) => (text += d))
      res.on("end", () => {
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // keep text
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers })
      })
    })
    req.on("error", reject)
    req.end(payload)
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface RunningDaemon {
  readonly home: string
  readonly url: string
  readonly env: NodeJS.ProcessEnv
  readonly stop: () => Promise<void>
}

/** A real daemon (`repowire serve`) on port 0 in a fresh REPOWIRE_HOME. */
export const startDaemon = async (
  daemon: Record<string, unknown> = {},
  existingHome?: string
): Promise<RunningDaemon> => {
  const home = existingHome ?? tempDir("rw-home-")
  if (existingHome === undefined) {
    fs.chmodSync(home, 0o700)
    fs.writeFileSync(path.join(home, "config.yaml"), YAML.stringify({ daemon: { port: 0, ...daemon } }), {
      mode: 0o600
    })
  }
  const env = cleanEnv({ REPOWIRE_HOME: home })
  const child = spawn(process.execPath, [BIN, "serve"], { env, stdio: ["ignore", "ignore", "pipe"] })
  let log = ""
  child.stderr.on("data", (d) => (log += d))
  const runtime = path.join(home, "daemon.json")
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (fs.existsSync(runtime)) {
      const { url } = JSON.parse(fs.readFileSync(runtime, "utf8")) as { url: string }
      const exited = child.exitCode !== null
      if (exited) break
      const health = await httpJson(url, "GET", "/health").catch(() => undefined)
      if (health?.status === 200) {
        return {
          home,
          url,
          env,
          stop: async () => {
            child.kill("SIGTERM")
            await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)))
          }
        }
      }
    }
    if (child.exitCode !== null) break
    await sleep(50)
  }
  child.kill("SIGKILL")
  throw new Error(`daemon did not start: ${log}`)
}

/** Kills the delivery processes the hooks started under this home. */
export const killDeliveries = (home: string) => {
  const dir = path.join(home, "sessions")
  if (!fs.existsSync(dir)) return
  for (const file of fs.readdirSync(dir)) {
    try {
      const { delivery_pid } = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { delivery_pid?: number }
      if (delivery_pid) process.kill(delivery_pid, "SIGTERM")
    } catch {
      // gone already
    }
  }
}
