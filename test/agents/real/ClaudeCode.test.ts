import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { AGENTS, type Mesh, run, setup, startMesh } from "./Agents.js"
import { assertTurn } from "./Expect.js"

/** Claude Code's real CLI, one `claude -p` turn against the fake model and a real daemon. */
const label = `Claude Code ${AGENTS.claude.version}`
let mesh: Mesh

beforeAll(async () => {
  mesh = await startMesh("claude", {
    ANTHROPIC_BASE_URL: "", // set below, once the fake model listens
    ANTHROPIC_API_KEY: "sk-ant-fake",
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_ERROR_REPORTING: "1",
    // The fake model calls MCP tools directly rather than through ToolSearch's deferred loading.
    ENABLE_TOOL_SEARCH: "false"
  })
  mesh.env.ANTHROPIC_BASE_URL = mesh.model.url
}, 180_000)
afterAll(() => mesh?.close())

describe(label, () => {
  it("setup installs it; one turn lists peers, asks, hands over the lead's ask on Stop and acks it", async () => {
    const installed = await setup(mesh)
    assert.strictEqual(installed.code, 0, installed.stderr)
    const list = await run("claude", ["mcp", "list"], { env: mesh.env, cwd: mesh.workspace, timeoutMs: 60_000 })
    assert.match(
      list.stdout,
      /repowire: .*mcp --backend claude-code.*Connected/,
      `${label}: claude mcp list: ${list.stdout}${list.stderr}`
    )
    const turn = await run("claude", [
      "-p",
      "Ask lead which port the API listens on.",
      "--allowedTools",
      "mcp__repowire",
      "--output-format",
      "text"
    ], {
      env: mesh.env,
      cwd: mesh.workspace,
      timeoutMs: 150_000
    })
    console.log(`${label}: turn ${turn.ms} ms, exit ${turn.code}`)
    assert.strictEqual(turn.code, 0, `${turn.stdout}\n${turn.stderr}`)
    await assertTurn(mesh, "claude-code", label)
  }, 240_000)
})
