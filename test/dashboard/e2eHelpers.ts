import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium } from "playwright-core"
import WebSocket from "ws"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const artifacts = path.join(root, "test-artifacts")

export const CHROMIUM = "/usr/bin/chromium"
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Debian's chromium, installed by scripts/ensure-chromium.sh when it is missing (CI runs as root). */
export const ensureChromium = () => {
  if (!existsSync(CHROMIUM)) execFileSync("bash", [path.join(root, "scripts/ensure-chromium.sh")], { stdio: "inherit" })
}

export const launchChromium = (): Promise<Browser> => {
  ensureChromium()
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const waitFor = async <A>(
  what: string,
  f: () => Promise<A | undefined> | A | undefined,
  timeoutMs = 15_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await f()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

export const tempHome = () => fs.mkdtemp(path.join(os.tmpdir(), "repowire-e2e-"))

/** The real daemon, `repowire serve` in a child process, on a temp REPOWIRE_HOME. */
export class Daemon {
  private constructor(
    readonly home: string,
    readonly port: number,
    private readonly child: ChildProcess,
    readonly log: Array<string>
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  static async start(home: string, port = 0, env: Record<string, string> = {}): Promise<Daemon> {
    const runtime = path.join(home, "daemon.json")
    await fs.rm(runtime, { force: true })
    const log: Array<string> = []
    // The built CLI when there is one (npm test builds first), else the sources through tsx.
    const bin = path.join(root, "dist/bin.mjs")
    const args = existsSync(bin) ? [bin, "serve"] : ["--import", "tsx", path.join(root, "src/bin.ts"), "serve"]
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, REPOWIRE_HOME: home, REPOWIRE_DAEMON__PORT: String(port), ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout!.on("data", (d: Buffer) => log.push(d.toString()))
    child.stderr!.on("data", (d: Buffer) => log.push(d.toString()))
    const info = await waitFor("the daemon to listen", async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${log.join("")}`)
      try {
        return JSON.parse(await fs.readFile(runtime, "utf8")) as { port: number }
      } catch {
        return undefined
      }
    }, 60_000)
    return new Daemon(home, info.port, child, log)
  }

  /** Kills the process outright, as a crash would. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise((r) => this.child.once("exit", r))
    this.child.kill("SIGKILL")
    await exited
  }

  api<A>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
    return callApi<A>(this.url, method, route, body, headers)
  }
}

/** A daemon's local address: the real process, or one started in-process by another harness. */
export interface Endpoint {
  readonly url: string
  readonly port: number
}

export const callApi = async <A>(
  base: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; body: A }> => {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    ;(init.headers as Record<string, string>)["content-type"] = "application/json"
  }
  const response = await fetch(`${base}${route}`, init)
  const text = await response.text()
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as A }
}

export interface Frame {
  readonly type: string
  readonly [key: string]: unknown
}

/** A fake agent: registers with POST /peers, then holds a /ws transport like the delivery process does. */
export class FakeAgent {
  readonly frames: Array<Frame> = []
  private socket: WebSocket | undefined
  constructor(readonly daemon: Endpoint, readonly peerId: string, readonly name: string, readonly token: string) {}

  static async register(daemon: Endpoint, name: string, circle: string, description = `working on ${name}`) {
    const { body, status } = await callApi<{ peer_id: string; display_name: string; token: string }>(
      daemon.url,
      "POST",
      "/peers",
      {
        name,
        backend: "claude-code",
        circle,
        path: `/home/dev/src/${name}`,
        description
      }
    )
    if (status !== 201) throw new Error(`register ${name}: ${status} ${JSON.stringify(body)}`)
    const agent = new FakeAgent(daemon, body.peer_id, body.display_name, body.token)
    await agent.connect()
    return agent
  }

  async connect(daemon: Endpoint = this.daemon): Promise<void> {
    const before = this.frames.length
    const socket = new WebSocket(`ws://127.0.0.1:${daemon.port}/ws`)
    this.socket = socket
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      this.frames.push(frame)
      if (frame.type === "ping") socket.send(JSON.stringify({ type: "pong", nonce: frame.nonce }))
      if (frame.type === "ask" || frame.type === "notify" || frame.type === "broadcast") {
        socket.send(JSON.stringify({ type: "delivery_ack", message_id: frame.message_id, outcome: "received" }))
      }
    })
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => {
        socket.send(JSON.stringify({ type: "connect", peer_id: this.peerId, token: this.token }))
        resolve()
      })
      socket.once("error", reject)
    })
    await waitFor(`${this.name} to be connected`, () => this.frames.slice(before).find((f) => f.type === "connected"))
  }

  close() {
    this.socket?.close()
  }

  frame(predicate: (f: Frame) => boolean, what: string) {
    return waitFor(what, () => this.frames.find(predicate))
  }

  post<A>(route: string, body: unknown) {
    return callApi<A>(this.daemon.url, "POST", route, body, { "x-repowire-peer-token": this.token })
  }
}
