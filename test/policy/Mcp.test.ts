import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as YAML from "yaml"
import { TOOL_NAMES } from "../../src/programs/mcp/Tools.js"
import { BIN, httpJson, runBin, type RunningDaemon, startDaemon, tempDir } from "../agents/Harness.js"
import { writePolicy } from "./support.js"

/** The built binary (`repowire serve`, `repowire mcp`, `repowire policy`): run `node scripts/build.mjs` first. */
const TOKEN = "policy-mcp-test-token-0123456789abcdef"
const POLICY = `
rules:
  - {effect: deny, from: "backend:claude-code", tools: [broadcast]}
  - {effect: deny, from: "backend:codex", tools: [broadcast, notify_peer]}
`
let daemon: RunningDaemon
let stdio: Client
let http: Client

const text = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text
const bearer = { authorization: `Bearer ${TOKEN}` }

beforeAll(async () => {
  const home = tempDir("rw-policy-mcp-")
  fs.chmodSync(home, 0o700)
  fs.writeFileSync(
    path.join(home, "config.yaml"),
    YAML.stringify({ daemon: { port: 0, auth_token: TOKEN, mcp_http: { enabled: true } } }),
    { mode: 0o600 }
  )
  writePolicy(home, POLICY)
  daemon = await startDaemon({}, home)

  const project = path.join(tempDir("rw-proj-"), "frontend")
  fs.mkdirSync(project)
  stdio = new Client({ name: "stdio", version: "0" })
  await stdio.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp"],
      env: daemon.env as Record<string, string>,
      cwd: project,
      stderr: "pipe"
    })
  )

  const codex =
    (await httpJson(daemon.url, "POST", "/peers", { body: { name: "remote", backend: "codex" }, headers: bearer })).body
  http = new Client({ name: "http", version: "0" })
  await http.connect(
    new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), {
      requestInit: { headers: { ...bearer, "x-repowire-peer-id": codex.peer_id, "x-repowire-peer-token": codex.token } }
    })
  )
}, 120_000)

afterAll(async () => {
  await stdio?.close()
  await http?.close()
  await daemon?.stop()
})

describe("MCP tools under the access rules", () => {
  it("stdio: tools/list leaves out a denied tool, and calling it is a tool error naming the rule", async () => {
    const { tools } = await stdio.listTools()
    assert.deepStrictEqual(tools.map((t) => t.name).sort(), TOOL_NAMES.filter((t) => t !== "broadcast").sort())
    const called = await stdio.callTool({ name: "broadcast", arguments: { text: "hi all" } })
    assert.isTrue((called as { isError?: boolean }).isError)
    assert.include(text(called), "may not use the tool broadcast: rule 1 (deny backend:claude-code tools broadcast)")
    const who = await stdio.callTool({ name: "whoami", arguments: {} })
    assert.match(text(who), /^you are frontend/)
  }, 60_000)

  it("HTTP: tools/list leaves out the peer's denied tools, and calling one is refused", async () => {
    const { tools } = await http.listTools()
    assert.deepStrictEqual(
      tools.map((t) => t.name).sort(),
      TOOL_NAMES.filter((t) => t !== "broadcast" && t !== "notify_peer").sort()
    )
    const called = await http.callTool({ name: "notify_peer", arguments: { to: "frontend", text: "psst" } })
    assert.isTrue((called as { isError?: boolean }).isError)
    assert.include(text(called), "rule 2 (deny backend:codex tools broadcast,notify_peer)")
    const events = (await httpJson(daemon.url, "GET", "/events?limit=1000", { headers: bearer })).body.events as Array<
      any
    >
    const denied = events.filter((e) => e.type === "policy_denied")
    assert.deepStrictEqual(denied.map((e) => [e.from_name, e.tool, e.rule]), [["frontend", "broadcast", 1], [
      "remote",
      "notify_peer",
      2
    ]])
    assert.isFalse(events.some((e) => e.type === "notify" || e.type === "broadcast"), "nothing was sent")
  }, 60_000)
})

describe("repowire policy", () => {
  it("show lists the rules in force; check prints the decision and the deciding rule, exit 0 either way", async () => {
    const shown = await runBin(["policy", "show"], { env: daemon.env })
    assert.strictEqual(shown.code, 0, shown.stderr)
    assert.include(shown.stdout, "policy: ok")
    assert.include(shown.stdout, "2. deny backend:codex tools broadcast,notify_peer")
    assert.include(shown.stdout, "default: allow")
    const json = JSON.parse((await runBin(["policy", "show", "--json"], { env: daemon.env })).stdout)
    assert.strictEqual(json.rules_in_force.length, 2)

    const denied = await runBin(["policy", "check", "--from", "remote", "--tool", "notify_peer"], { env: daemon.env })
    assert.strictEqual(denied.code, 0, denied.stderr)
    assert.strictEqual(denied.stdout.trim(), "deny: rule 2 (deny backend:codex tools broadcast,notify_peer)")
    const allowed = await runBin(["policy", "check", "--from", "remote", "--to", "frontend", "--action", "ask"], {
      env: daemon.env
    })
    assert.strictEqual(allowed.code, 0, allowed.stderr)
    assert.strictEqual(allowed.stdout.trim(), "allow: default (allow)")

    const unknown = await runBin(["policy", "check", "--from", "nobody", "--to", "frontend", "--action", "ask"], {
      env: daemon.env
    })
    assert.notStrictEqual(unknown.code, 0)
    assert.strictEqual(unknown.stderr.trim().split("\n").length, 1)
    assert.include(unknown.stderr, "nobody")
    const help = await runBin(["policy", "check", "--help"], { env: daemon.env })
    assert.include(help.stdout, "--tool")
  }, 60_000)

  it("serve refuses to start with an invalid file, naming its line", async () => {
    const home = tempDir("rw-policy-bad-")
    fs.chmodSync(home, 0o700)
    fs.writeFileSync(path.join(home, "config.yaml"), YAML.stringify({ daemon: { port: 0 } }), { mode: 0o600 })
    writePolicy(home, "rules:\n  - {effect: deny, from: \"*\", tools: [rm_rf]}\n")
    const run = await runBin(["serve"], { env: { ...daemon.env, REPOWIRE_HOME: home } })
    assert.notStrictEqual(run.code, 0)
    assert.include(
      run.stderr,
      `the daemon refuses to start: ${path.join(home, "policy.yaml")} line 2: rules.0.tools.0: unknown value "rm_rf"`
    )
    // `daemon start` (what hooks call) says so too, at once rather than after its timeout.
    const started = await runBin(["daemon", "start"], { env: { ...daemon.env, REPOWIRE_HOME: home } })
    assert.notStrictEqual(started.code, 0)
    assert.isBelow(started.ms, 10_000)
    assert.include(started.stderr, "the daemon exited: the daemon refuses to start: ")
    assert.include(started.stderr, "line 2: rules.0.tools.0: unknown value \"rm_rf\"")
  }, 60_000)
})
