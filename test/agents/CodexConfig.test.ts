import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parse } from "smol-toml"
import { hookHash } from "../../src/programs/setup/CodexTrust.js"
import { integrations } from "../../src/programs/setup/Integrations.js"
import { applySetup, applyUninstall, planSetup, planUninstall } from "../../src/programs/setup/Plan.js"

/** Codex 0.171's config.toml as Codex itself writes it, and what setup must make of it. */
const bin = path.join(__dirname, "..", "..", "dist", "bin.mjs")

const codexHome = (configToml: string | null, hooksJson?: string) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "rw-codex-"))
  const home = path.join(root, "home")
  fs.mkdirSync(path.join(home, ".codex"), { recursive: true })
  if (configToml !== null) fs.writeFileSync(path.join(home, ".codex", "config.toml"), configToml)
  if (hooksJson !== undefined) fs.writeFileSync(path.join(home, ".codex", "hooks.json"), hooksJson)
  return { home, repowireHome: path.join(root, "repowire"), config: path.join(home, ".codex", "config.toml") }
}

const setupCli = (home: string, repowireHome: string, command = "setup") =>
  spawnSync(process.execPath, [bin, command], {
    env: {
      ...process.env,
      HOME: home,
      REPOWIRE_HOME: repowireHome,
      PATH: "",
      REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
    },
    encoding: "utf8"
  })

const codexOnly = (home: string) => integrations(home, ["repowire"]).filter((i) => i.backend === "codex")

const TRUSTED_FOLDER = `model = "gpt-5.5"

[projects."/root/work/web"]
trust_level = "trusted"
`

describe("setup on Codex's config.toml", () => {
  it("accepts the [projects.\"/abs/path\"] table Codex writes when a folder is trusted", () => {
    const { home, repowireHome, config } = codexHome(TRUSTED_FOLDER)
    const run = setupCli(home, repowireHome)
    assert.strictEqual(run.status, 0, run.stderr)
    const doc = parse(fs.readFileSync(config, "utf8")) as any
    assert.strictEqual(doc.projects["/root/work/web"].trust_level, "trusted")
    assert.deepStrictEqual(doc.mcp_servers.repowire.args, ["mcp", "--backend", "codex"])
    assert.isTrue(doc.features.hooks, "[features] hooks, not the deprecated codex_hooks")
    assert.isUndefined(doc.features.codex_hooks)
    assert.includeMembers(doc.mcp_servers.repowire.env_vars, ["REPOWIRE_HOME", "REPOWIRE_DAEMON__PORT", "TMUX_PANE"])
    const un = setupCli(home, repowireHome, "uninstall")
    assert.strictEqual(un.status, 0, un.stderr)
    assert.strictEqual(fs.readFileSync(config, "utf8"), TRUSTED_FOLDER)
  })

  it("records the trust of each repowire hook, at its index in hooks.json, and uninstall removes it", () => {
    const userHooks = JSON.stringify({
      hooks: { SessionStart: [{ hooks: [{ type: "command", command: "echo hi" }] }] }
    })
    const { home, repowireHome, config } = codexHome(TRUSTED_FOLDER, userHooks)
    applySetup(planSetup(codexOnly(home), { PATH: "" }), repowireHome)
    const hooksPath = path.join(home, ".codex", "hooks.json")
    const hooks = JSON.parse(fs.readFileSync(hooksPath, "utf8"))
    const state = (parse(fs.readFileSync(config, "utf8")) as any).hooks.state
    assert.deepStrictEqual(Object.keys(state).sort(), [
      `${hooksPath}:post_tool_use:0:0`,
      `${hooksPath}:session_start:1:0`,
      `${hooksPath}:stop:0:0`,
      `${hooksPath}:user_prompt_submit:0:0`
    ])
    const ours = hooks.hooks.SessionStart[1]
    assert.strictEqual(
      state[`${hooksPath}:session_start:1:0`].trusted_hash,
      hookHash("SessionStart", ours, ours.hooks[0])
    )
    assert.isUndefined(state[`${hooksPath}:session_start:0:0`], "the user's own hook keeps its own trust decision")
    applyUninstall(planUninstall(codexOnly(home), repowireHome), repowireHome)
    assert.strictEqual(fs.readFileSync(config, "utf8"), TRUSTED_FOLDER)
  })

  it("the trust hash is Codex's normalized identity (timeout materialized, matcher dropped for Stop)", () => {
    const group = {
      matcher: "*",
      hooks: [{ type: "command", command: "repowire hook stop --backend codex", timeout: 5 }]
    }
    const withMatcher = hookHash("Stop", group, group.hooks[0]!)
    assert.strictEqual(withMatcher, hookHash("Stop", { hooks: group.hooks }, group.hooks[0]!))
    assert.notStrictEqual(
      hookHash("PostToolUse", group, group.hooks[0]!),
      hookHash("PostToolUse", { hooks: group.hooks }, group.hooks[0]!)
    )
    assert.match(withMatcher, /^sha256:[0-9a-f]{64}$/)
  })

  it("keeps exactly one [mcp_servers.repowire] when one is there already", () => {
    const upstream = `${TRUSTED_FOLDER}
[mcp_servers.repowire]
command = "uvx"
args = ["repowire", "mcp"]

[mcp_servers.repowire.env]
REPOWIRE_PORT = "8377"

[mcp_servers.docs]
command = "npx"
`
    const { home, repowireHome, config } = codexHome(upstream)
    const run = setupCli(home, repowireHome)
    assert.strictEqual(run.status, 0, run.stderr)
    const text = fs.readFileSync(config, "utf8")
    assert.strictEqual(text.match(/^\[mcp_servers\.repowire\]/gm)?.length, 1)
    const doc = parse(text) as any
    assert.strictEqual(doc.mcp_servers.repowire.command, "repowire")
    assert.isUndefined(doc.mcp_servers.repowire.env)
    assert.strictEqual(doc.mcp_servers.docs.command, "npx")
    assert.strictEqual(setupCli(home, repowireHome).status, 0)
    assert.strictEqual(fs.readFileSync(config, "utf8"), text, "a second setup changes nothing")
  })

  it("refuses, with the parser's reason and before writing anything, a setup that would make invalid TOML", () => {
    // `features` defined by dotted keys cannot take a [features] table after it.
    const { home, repowireHome, config } = codexHome("features.web_search = true\n")
    const run = setupCli(home, repowireHome)
    assert.strictEqual(run.status, 1)
    assert.include(run.stderr, `${config}: setup would make it invalid TOML`)
    assert.include(run.stderr, "nothing was changed")
    assert.isFalse(
      fs.existsSync(path.join(home, ".codex", "hooks.json")),
      "no half install: hooks.json was not written"
    )
    assert.strictEqual(fs.readFileSync(config, "utf8"), "features.web_search = true\n")
  })
})
