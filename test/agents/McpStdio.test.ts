import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { TOOL_NAMES } from "../../src/programs/mcp/Tools.js"
import { BIN, httpJson, runBin, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

let daemon: RunningDaemon
let project: string
let client: Client

const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]!.text)
const isError = (r: unknown) => (r as { isError?: boolean }).isError === true

beforeAll(async () => {
  daemon = await startDaemon()
  project = path.join(tempDir("rw-proj-"), "frontend")
  fs.mkdirSync(project)
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    env: daemon.env as Record<string, string>,
    cwd: project,
    stderr: "pipe"
  })
  client = new Client({ name: "test", version: "0" })
  await client.connect(transport)
}, 120_000)

afterAll(async () => {
  await client?.close()
  await daemon?.stop()
})

const cli = (...args: Array<string>) => runBin(args, { env: daemon.env, cwd: project })

describe("MCP over stdio against a real daemon", () => {
  it("lists every tool", async () => {
    const { tools } = await client.listTools()
    assert.deepStrictEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort())
  }, 120_000)

  it("registers lazily on the first call and calls every tool", async () => {
    const who = await client.callTool({ name: "whoami", arguments: {} })
    assert.match(text(who), /^you are frontend \(peer-[a-z0-9]+\), circle default, backend claude-code, online$/)

    const described = await client.callTool({
      name: "set_description",
      arguments: { description: "building the login page" }
    })
    assert.strictEqual(text(described), "description set")

    const peers = await client.callTool({ name: "list_peers", arguments: {} })
    assert.match(text(peers), /^\d+ peer\(s\): name\tstatus\tbackend\tcircle\tdescription/)
    assert.include(text(peers), "frontend (you)\tonline\tclaude-code\tdefault\tbuilding the login page")

    // An inbound ask, from the CLI peer, answered with ack + reply.
    const asked = await cli("ask", "frontend", "Which endpoint logs in?", "--json")
    assert.strictEqual(asked.code, 0, asked.stderr)
    const { correlation_id } = JSON.parse(asked.stdout) as { correlation_id: string }
    const inbound = await client.callTool({ name: "list_asks", arguments: { direction: "inbound" } })
    assert.include(text(inbound), `${correlation_id}\tcli\tfrontend\t`)
    const acked = await client.callTool({ name: "ack", arguments: { correlation_id, message: "POST /login" } })
    assert.match(text(acked), new RegExp(`^${correlation_id} acked, reply (queued|delivered)$`))
    const asks = JSON.parse((await cli("asks", "--json")).stdout) as {
      asks: Array<{ correlation_id: string; state: string; reply: string }>
    }
    const closed = asks.asks.find((a) => a.correlation_id === correlation_id)!
    assert.strictEqual(closed.state, "acked")
    assert.strictEqual(closed.reply, "POST /login")

    // An outbound ask, answered by the CLI, awaited with wait_on_ack.
    const out = await client.callTool({ name: "ask", arguments: { to: "cli", text: "Is staging up?" } })
    const outId = /^(ask-[a-z0-9]+) sent to cli \((queued|delivered)\)$/.exec(text(out))?.[1]
    assert.isDefined(outId)
    const outbound = await client.callTool({ name: "list_asks", arguments: { direction: "outbound" } })
    assert.include(text(outbound), `${outId}\tfrontend\tcli\t`)
    const waiting = client.callTool({ name: "wait_on_ack", arguments: { correlation_id: outId!, timeout_s: 20 } })
    const answered = await cli("ack", outId!, "yes, since noon")
    assert.strictEqual(answered.code, 0, answered.stderr)
    assert.strictEqual(text(await waiting), `${outId} acked by cli. Reply:\nyes, since noon`)

    const notified = await client.callTool({ name: "notify_peer", arguments: { to: "cli", text: "deploying" } })
    assert.match(text(notified), /^sent to cli \((queued|delivered)\)$/)
    const cast = await client.callTool({ name: "broadcast", arguments: { text: "hello all" } })
    assert.isFalse(isError(cast), text(cast))
  }, 120_000)

  it("returns tool errors an agent can act on", async () => {
    const unknown = await client.callTool({ name: "notify_peer", arguments: { to: "nobody", text: "hi" } })
    assert.isTrue(isError(unknown))
    assert.include(text(unknown), "no peer named `nobody`")
    const badAck = await client.callTool({ name: "ack", arguments: { correlation_id: "ask-0000000000" } })
    assert.isTrue(isError(badAck))
    const notAnId = await client.callTool({ name: "wait_on_ack", arguments: { correlation_id: "nope", timeout_s: 0 } })
    assert.isTrue(isError(notAnId))
  }, 120_000)

  it("registers again when the daemon no longer knows the peer", async () => {
    const sessions = path.join(daemon.home, "sessions")
    const file = fs.readdirSync(sessions).map((f) => path.join(sessions, f)).find((f) => f.includes("claude-code"))!
    const record = JSON.parse(fs.readFileSync(file, "utf8")) as { peer_id: string; token: string }
    const removed = await httpJson(daemon.url, "DELETE", `/peers/${record.peer_id}`, {
      headers: { "x-repowire-peer-token": record.token }
    })
    assert.strictEqual(removed.status, 200)
    const who = await client.callTool({ name: "whoami", arguments: {} })
    assert.isFalse(isError(who), text(who))
    assert.match(text(who), /^you are frontend/)
  }, 120_000)
})

describe("MCP stdio hygiene and identity", () => {
  it("writes only JSON-RPC to stdout", async () => {
    const child = spawn(process.execPath, [BIN, "mcp"], { env: daemon.env, cwd: project })
    let stdout = ""
    child.stdout.on("data", (d) => (stdout += d))
    const send = (msg: unknown) => child.stdin.write(JSON.stringify(msg) + "\n")
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
    })
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "list_peers", arguments: {} } })
    send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "notify_peer", arguments: { to: "nobody", text: "x" } }
    })
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && stdout.split("\n").filter((l) => l.trim() !== "").length < 3) {
      await new Promise((r) => setTimeout(r, 50))
    }
    child.stdin.end()
    await new Promise((r) => child.once("close", r))
    const lines = stdout.split("\n").filter((l) => l.trim() !== "")
    assert.strictEqual(lines.length, 3)
    for (const line of lines) assert.strictEqual((JSON.parse(line) as { jsonrpc: string }).jsonrpc, "2.0")
  }, 120_000)

  it("refuses a forged from_peer", async () => {
    const a = await httpJson(daemon.url, "POST", "/peers", { body: { name: "alice", backend: "codex" } })
    const b = await httpJson(daemon.url, "POST", "/peers", { body: { name: "bob", backend: "codex" } })
    assert.strictEqual(a.status, 201)
    const forged = await httpJson(daemon.url, "POST", "/notify", {
      body: { from_peer: b.body.peer_id, to_peer: "alice", text: "I am bob" },
      headers: { "x-repowire-peer-token": a.body.token }
    })
    assert.strictEqual(forged.status, 403)
    const tokenless = await httpJson(daemon.url, "POST", "/notify", {
      body: { from_peer: "bob", to_peer: "alice", text: "hi" }
    })
    assert.strictEqual(tokenless.status, 401)
    const honest = await httpJson(daemon.url, "POST", "/notify", {
      body: { from_peer: a.body.peer_id, to_peer: "bob", text: "hi bob" },
      headers: { "x-repowire-peer-token": a.body.token }
    })
    assert.strictEqual(honest.status, 200)
  }, 120_000)
})
