import * as fs from "node:fs"
import * as path from "node:path"
import { run as runCli, setup, startMesh } from "../test/agents/real/Agents.js"
import { median, ms as fmt, ratio, report } from "./support/Stats.js"

/**
 * What repowire's hooks add to one real Claude Code turn (`claude -p`, fake model: list_peers,
 * ask, answer; no hand-over, so both sides make the same model requests): the same turn with the
 * hooks installed and with them removed from settings.json (the MCP server stays), interleaved.
 */
const turnOnce = async (withHooks: boolean) => {
  const mesh = await startMesh("claude", {
    ANTHROPIC_API_KEY: "sk-ant-fake",
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    ENABLE_TOOL_SEARCH: "false"
  }, { askBack: false })
  try {
    mesh.env.ANTHROPIC_BASE_URL = mesh.model.url
    const installed = await setup(mesh)
    if (installed.code !== 0) throw new Error(installed.stderr)
    if (!withHooks) {
      const file = path.join(mesh.home, ".claude", "settings.json")
      const doc = JSON.parse(fs.readFileSync(file, "utf8"))
      delete doc.hooks
      fs.writeFileSync(file, JSON.stringify(doc))
    }
    const turn = await runCli("claude", [
      "-p",
      "Ask lead which port the API listens on.",
      "--allowedTools",
      "mcp__repowire"
    ], {
      env: mesh.env,
      cwd: mesh.workspace,
      timeoutMs: 150_000
    })
    if (turn.code !== 0) throw new Error(turn.stderr)
    return turn.ms
  } finally {
    await mesh.close()
  }
}

export const run = async (iterations = 5): Promise<void> => {
  const withHooks: Array<number> = []
  const without: Array<number> = []
  for (let i = 0; i < iterations; i++) {
    without.push(await turnOnce(false))
    withHooks.push(await turnOnce(true))
  }
  const a = median(withHooks)
  const b = median(without)
  report(`one claude -p turn (${iterations} each, interleaved)`, [
    ["without hooks (p50)", fmt(b)],
    ["with repowire's hooks (p50)", fmt(a)],
    ["hooks add (p50)", `${fmt(a - b)} (${ratio(a, b)})`]
  ])
}
