import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { asHuman } from "../support/Http.js"
import { BIN, httpJson, killDeliveries, runBin, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

/**
 * Two simulated agents in real tmux panes (each pane's terminal echoes what is typed into it;
 * `cat` discards it): hooks register them and start their delivery processes; one asks the other over
 * MCP, the other acks with a reply, and each side's pane shows the text.
 */
let daemon: RunningDaemon
let socket: string
const panes: Record<"api" | "web", string> = { api: "", web: "" }
const dirs: Record<"api" | "web", string> = { api: "", web: "" }
const clients: Array<Client> = []

const tmux = (...args: Array<string>) => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" })
const screen = (pane: string) => tmux("capture-pane", "-p", "-J", "-t", pane, "-S", "-500")
const agentEnv = (who: "api" | "web") => ({ ...daemon.env, TMUX: `${socket},1,0`, TMUX_PANE: panes[who] })

const waitFor = async <A>(
  what: string,
  probe: () => A | undefined | false | Promise<A | undefined | false>,
  ms = 15_000
) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await probe()
    if (value) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const mcpFor = async (who: "api" | "web") => {
  const client = new Client({ name: who, version: "0" })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp"],
      env: agentEnv(who) as Record<string, string>,
      cwd: dirs[who],
      stderr: "pipe"
    })
  )
  clients.push(client)
  return client
}
const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]!.text)

beforeAll(async () => {
  execFileSync("sh", [path.join(__dirname, "..", "..", "scripts", "ensure-tmux.sh")])
  daemon = await startDaemon()
  const root = tempDir("rw-tmux-")
  socket = path.join(root, "tmux.sock")
  for (const who of ["api", "web"] as const) {
    dirs[who] = path.join(root, who)
    fs.mkdirSync(dirs[who])
  }
  tmux("-f", "/dev/null", "new-session", "-d", "-s", "mesh", "-x", "220", "-y", "60", "-c", dirs.api, "cat > /dev/null")
  tmux("split-window", "-h", "-t", "mesh", "-c", dirs.web, "cat > /dev/null")
  const ids = tmux("list-panes", "-t", "mesh", "-F", "#{pane_id}").trim().split("\n")
  panes.api = ids[0]!
  panes.web = ids[1]!
  for (const who of ["api", "web"] as const) {
    const start = await runBin(["hook", "session-start"], {
      env: agentEnv(who),
      cwd: dirs[who],
      input: JSON.stringify({ cwd: dirs[who], hook_event_name: "SessionStart", source: "startup" })
    })
    assert.strictEqual(start.code, 0, start.stderr)
  }
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  if (daemon) killDeliveries(daemon.home)
  try {
    tmux("kill-server")
  } catch {
    // already gone
  }
  await daemon?.stop()
})

describe("live delivery into tmux panes", () => {
  it("registers both agents in the tmux session's circle, with a live transport", async () => {
    const { body } = await httpJson(daemon.url, "GET", "/peers?circle=mesh")
    const names = (body.peers as Array<{ display_name: string; circle: string }>).map((p) => p.display_name).sort()
    assert.deepStrictEqual(names, ["api", "web"])
  }, 120_000)

  it("an ask reaches the other pane; the ack's reply reaches the asker's pane", async () => {
    const web = await mcpFor("web")
    const api = await mcpFor("api")
    const asked = text(await web.callTool({ name: "ask", arguments: { to: "api", text: "Which endpoints exist?" } }))
    const id = /^(ask-[a-z0-9]+) sent to api/.exec(asked)?.[1]
    assert.isDefined(id, asked)
    await waitFor("the ask in api's pane", () => screen(panes.api).includes(`[repowire] ask ${id} from web:`))
    const apiScreen = screen(panes.api)
    assert.include(apiScreen, "Which endpoints exist?")
    assert.include(apiScreen, `correlation_id "${id}"`)
    await waitFor("the ask to be delivered", async () => {
      const { body } = await httpJson(daemon.url, "GET", `/asks/${id}`)
      return body.state === "delivered"
    })

    const acked = text(
      await api.callTool({ name: "ack", arguments: { correlation_id: id!, message: "GET /items and POST /items" } })
    )
    assert.match(acked, /acked, reply delivered/)
    await waitFor(
      "the answer in web's pane",
      () => screen(panes.web).includes(`[repowire] answer from api to your ask ${id}:`)
    )
    assert.include(screen(panes.web), "GET /items and POST /items")
  }, 120_000)

  it("follows the daemon when it restarts on another port", async () => {
    const oldUrl = daemon.url
    await daemon.stop()
    daemon = await startDaemon({}, daemon.home)
    assert.notStrictEqual(daemon.url, oldUrl)
    const sender = await httpJson(daemon.url, "POST", "/peers", {
      body: { name: "restarter", backend: "cli", circle: "mesh" },
      headers: asHuman(daemon.home)
    })
    const sent = await httpJson(daemon.url, "POST", "/notify", {
      body: { from_peer: sender.body.peer_id, to_peer: "api", text: "after the restart" },
      headers: { "x-repowire-peer-token": sender.body.token as string }
    })
    assert.strictEqual(sent.status, 200, JSON.stringify(sent.body))
    await waitFor("the message after a restart", () => screen(panes.api).includes("after the restart"), 40_000)
  }, 60_000)

  it("several messages at once arrive whole and in order", async () => {
    const sender = await httpJson(daemon.url, "POST", "/peers", {
      body: { name: "sender", backend: "cli", circle: "mesh" },
      headers: asHuman(daemon.home)
    })
    const headers = { "x-repowire-peer-token": sender.body.token as string }
    const sent = await Promise.all([1, 2, 3, 4, 5].map((i) =>
      httpJson(daemon.url, "POST", "/notify", {
        body: { from_peer: sender.body.peer_id, to_peer: "api", text: `burst line ${i}\nsecond line of ${i}` },
        headers
      })
    ))
    for (const r of sent) assert.strictEqual(r.status, 200, JSON.stringify(r.body))
    const all = await waitFor("five messages", () => {
      const s = screen(panes.api)
      return (s.match(/second line of \d/g) ?? []).length >= 5 ? s : false
    })
    // Each message's lines stay together: header, both lines, then the reply hint.
    for (const i of [1, 2, 3, 4, 5]) {
      assert.match(
        all,
        new RegExp(`\\[repowire\\] message from sender:\\nburst line ${i}\\nsecond line of ${i}\\n\\(reply`)
      )
    }
  }, 120_000)

  it(
    "an agent's pane that exits marks its peer offline within a second (the hook SessionStart installed)",
    async () => {
      assert.include(tmux("show-hooks", "-g", "pane-exited"), "hook pane-exited --pane")
      const peerOf = async () =>
        ((await httpJson(daemon.url, "GET", "/peers?circle=mesh&all=true")).body.peers as Array<
          { display_name: string; status: string }
        >)
          .find((p) => p.display_name === "web")!
      assert.notStrictEqual((await peerOf()).status, "offline")
      const pid = Number(tmux("display-message", "-p", "-t", panes.web, "#{pane_pid}").trim())
      const exited = Date.now()
      process.kill(pid, "SIGTERM")
      let status = (await peerOf()).status
      while (status !== "offline" && Date.now() - exited < 1000) {
        await new Promise((r) => setTimeout(r, 50))
        status = (await peerOf()).status
      }
      assert.strictEqual(status, "offline")
    },
    60_000
  )
})
