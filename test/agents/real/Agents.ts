import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startDaemon, type TestDaemon } from "../../support/Daemon.js"
import { asHuman } from "../../support/Http.js"
import { BIN, httpJson } from "../Harness.js"
import { type FakeModel, startFakeModel } from "./FakeModel.js"

/** The pinned CLIs (scripts/ensure-agents.sh installs the same versions). */
export const AGENTS = {
  claude: { pkg: "@anthropic-ai/claude-code", version: "2.1.332", bin: "claude" },
  codex: { pkg: "@openai/codex", version: "0.171.0", bin: "codex" },
  gemini: { pkg: "@google/gemini-cli", version: "0.61.0", bin: "gemini" },
  opencode: { pkg: "opencode-ai", version: "1.18.33", bin: "opencode" }
} as const
export type AgentName = keyof typeof AGENTS

const cache = () => process.env.REPOWIRE_AGENTS_CACHE ?? path.join(os.homedir(), ".cache", "repowire-test", "agents")
const ROOT = path.resolve(import.meta.dirname, "../../..")

/** The CLI's bin folder, installing it (scripts/ensure-agents.sh) when it is missing. */
export const agentBinDir = (name: AgentName): string => {
  const a = AGENTS[name]
  const dir = path.join(cache(), `${a.pkg.replace("/", "+")}@${a.version}`, "node_modules", ".bin")
  if (!fs.existsSync(path.join(dir, a.bin))) {
    execFileSync("bash", [path.join(ROOT, "scripts", "ensure-agents.sh")], { stdio: "inherit" })
  }
  return dir
}

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export const run = (
  cmd: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env: NodeJS.ProcessEnv
    readonly cwd: string
    readonly timeoutMs?: number
    readonly input?: string
  }
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd, detached: true })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // gone
      }
    }, options.timeoutMs ?? 120_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      // Kept next to the workspace for a look after a failure.
      fs.appendFileSync(
        path.join(path.dirname(options.cwd), "runs.log"),
        `$ ${cmd} ${args.join(" ")}\n${stdout}\n${stderr}\n`
      )
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(options.input ?? "")
  })

export interface Mesh {
  readonly daemon: TestDaemon
  readonly model: FakeModel
  readonly home: string
  /** The agent's folder: its name is the peer's. */
  readonly workspace: string
  readonly env: NodeJS.ProcessEnv
  readonly lead: { readonly peer_id: string; readonly token: string }
  /** The ask the lead sends the agent once it asked (answered by the agent's ack). */
  readonly leadAsk: () => string | undefined
  readonly close: () => Promise<void>
}

export const PEER = "web"
export const QUESTION = "Which port does the API listen on?"
export const REPLY = "The API listens on 8080."
export const LEAD_QUESTION = "Which framework does web use?"
export const ANSWER = "web uses Preact."

/**
 * A daemon in a temp REPOWIRE_HOME, a lead peer that answers the agent's ask and asks one back,
 * the fake model, a temp HOME and a workspace folder named after the peer.
 */
export const startMesh = async (
  name: AgentName,
  extraEnv: Record<string, string> = {},
  options: { readonly askBack?: boolean } = {}
): Promise<Mesh> => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `rw-real-${name}-`))
  const home = path.join(root, "home")
  const workspace = path.join(root, PEER)
  fs.mkdirSync(home)
  fs.mkdirSync(workspace)
  fs.mkdirSync(path.join(root, "repowire"), { mode: 0o700 })
  const daemon = await startDaemon({}, path.join(root, "repowire"))
  const lead = (await httpJson(daemon.url, "POST", "/peers", {
    body: { name: "lead", backend: "cli" },
    headers: asHuman(daemon.home)
  })).body as Mesh["lead"]
  let leadAsk: string | undefined
  const asLead = { "x-repowire-peer-token": lead.token }
  const model = await startFakeModel({
    askTo: "lead",
    question: QUESTION,
    answer: ANSWER,
    afterAsk: async () => {
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        const open = await httpJson(daemon.url, "GET", `/asks?peer=${lead.peer_id}&direction=inbound&open=true`, {
          headers: asLead
        })
        const ask = (open.body.asks ?? [])[0]
        if (ask) {
          await httpJson(daemon.url, "POST", "/ack", {
            body: { correlation_id: ask.correlation_id, message: REPLY },
            headers: asLead
          })
          if (options.askBack === false) return
          const sent = await httpJson(daemon.url, "POST", "/ask", {
            body: { from_peer: lead.peer_id, to_peer: PEER, text: LEAD_QUESTION },
            headers: asLead
          })
          leadAsk = sent.body.correlation_id
          return
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  })
  const binDir = agentBinDir(name)
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    USER: "tester",
    LANG: "C.UTF-8",
    TERM: "dumb",
    PATH: [binDir, path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    REPOWIRE_HOME: daemon.home,
    REPOWIRE_SETUP_COMMAND: JSON.stringify([process.execPath, BIN]),
    NO_COLOR: "1",
    ...extraEnv
  }
  return {
    daemon,
    model,
    home,
    workspace,
    env,
    lead,
    leadAsk: () => leadAsk,
    close: async () => {
      // Kept for a look after a failure.
      fs.writeFileSync(path.join(root, "model-log.json"), JSON.stringify(model.log, null, 1))
      killDeliveries(daemon.home)
      await model.close()
      await daemon.close()
    }
  }
}

const killDeliveries = (home: string) => {
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

export const setup = (mesh: Mesh) =>
  run(process.execPath, [BIN, "setup"], { env: mesh.env, cwd: mesh.workspace, timeoutMs: 30_000 })
