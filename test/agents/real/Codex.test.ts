import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { AGENTS, type Mesh, run, setup, startMesh } from "./Agents.js"
import { assertTurn } from "./Expect.js"

/**
 * Codex's real CLI: `codex exec` against the fake model (a Responses API provider), once with
 * a plain config.toml and once with the [projects."/abs/path"] table Codex writes when the user
 * trusts a folder (which setup used to refuse).
 */
const label = `Codex ${AGENTS.codex.version}`

// A model Codex knows to take tool_search: Codex 0.171 offers MCP tools only through it.
const providerToml = (mesh: Mesh) =>
  `model = "gpt-5.5"
model_provider = "fake"

[model_providers.fake]
name = "fake"
base_url = "${mesh.model.url}/v1"
wire_api = "responses"
env_key = "FAKE_MODEL_KEY"
`

const turn = async (trusted: boolean) => {
  const mesh = await startMesh("codex", { FAKE_MODEL_KEY: "fake" })
  try {
    const codexDir = path.join(mesh.home, ".codex")
    fs.mkdirSync(codexDir)
    const projects = trusted ? `\n[projects.${JSON.stringify(mesh.workspace)}]\ntrust_level = "trusted"\n` : ""
    fs.writeFileSync(path.join(codexDir, "config.toml"), providerToml(mesh) + projects)
    const installed = await setup(mesh)
    assert.strictEqual(installed.code, 0, installed.stderr)
    const list = await run("codex", ["mcp", "list"], { env: mesh.env, cwd: mesh.workspace, timeoutMs: 60_000 })
    assert.match(
      list.stdout,
      /repowire\s+.*mcp --backend codex/,
      `${label}: codex mcp list: ${list.stdout}${list.stderr}`
    )
    const exec = await run("codex", ["exec", "--skip-git-repo-check", "Ask lead which port the API listens on."], {
      env: mesh.env,
      cwd: mesh.workspace,
      timeoutMs: 150_000
    })
    console.log(`${label}${trusted ? " (trusted folder)" : ""}: turn ${exec.ms} ms, exit ${exec.code}`)
    assert.strictEqual(exec.code, 0, `${exec.stdout}\n${exec.stderr}`)
    await assertTurn(mesh, "codex", `${label}${trusted ? " (trusted folder)" : ""}`)
  } finally {
    await mesh.close()
  }
}

describe(label, () => {
  it(
    "setup installs it; one `codex exec` turn lists peers, asks, and acks the ask its Stop hook hands over",
    () => turn(false),
    240_000
  )
  it("the same with a trusted [projects] table in config.toml", () => turn(true), 240_000)
})
