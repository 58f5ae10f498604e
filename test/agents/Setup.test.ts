import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { integrations } from "../../src/programs/setup/Integrations.js"
import { applySetup, applyUninstall, PlanRefused, planSetup, planUninstall } from "../../src/programs/setup/Plan.js"
import { addBlock, BEGIN, checkToml, removeBlock } from "../../src/programs/setup/TomlBlock.js"

const fixtureHome = path.join(__dirname, "fixtures", "home")
const bin = path.join(__dirname, "..", "..", "dist", "bin.mjs")

const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) =>
    fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8")
    })
  walk(dir)
  return out
}

const freshHome = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "rw-setup-"))
  const home = path.join(root, "home")
  fs.cpSync(fixtureHome, home, { recursive: true })
  return { home, repowireHome: path.join(root, "repowire") }
}

const env = { PATH: "" }
const command = ["repowire"]

describe("setup / uninstall on fixture configs", () => {
  it("adds hooks and MCP entries, keeps everything else, is idempotent, and uninstall restores the bytes", () => {
    const { home, repowireHome } = freshHome()
    const before = snapshot(home)
    const all = integrations(home, command)
    const planned = planSetup(all, env)
    assert.deepStrictEqual(planned.errors, [])
    assert.strictEqual(planned.skipped.length, 0)
    applySetup(planned, repowireHome)

    const claude = JSON.parse(fs.readFileSync(path.join(home, ".claude/settings.json"), "utf8"))
    assert.strictEqual(claude.model, "opus")
    assert.deepStrictEqual(claude.permissions.allow, ["Bash(npm run test:*)", "Read(~/.zshrc)"])
    assert.strictEqual(claude.hooks.PostToolUse.length, 2)
    assert.strictEqual(claude.hooks.PostToolUse[0].matcher, "Write|Edit")
    assert.strictEqual(claude.hooks.Stop[0].hooks[0].command, "repowire hook stop --backend claude-code")
    assert.deepStrictEqual(Object.keys(claude.hooks).sort(), [
      "PostToolUse",
      "SessionEnd",
      "SessionStart",
      "Stop",
      "UserPromptSubmit"
    ])
    const claudeJson = JSON.parse(fs.readFileSync(path.join(home, ".claude.json"), "utf8"))
    assert.deepStrictEqual(claudeJson.mcpServers.repowire, {
      type: "stdio",
      command: "repowire",
      args: ["mcp", "--backend", "claude-code"]
    })
    assert.strictEqual(claudeJson.mcpServers.github.command, "npx")
    assert.strictEqual(claudeJson.numStartups, 42)
    const toml = fs.readFileSync(path.join(home, ".codex/config.toml"), "utf8")
    assert.include(toml, "[mcp_servers.repowire]")
    assert.include(toml, "hooks = true # repowire")
    assert.notInclude(toml, "codex_hooks")
    assert.strictEqual(toml.match(/^\[features\]/gm)?.length, 1)
    checkToml("config.toml", toml)
    const codexHooks = JSON.parse(fs.readFileSync(path.join(home, ".codex/hooks.json"), "utf8"))
    assert.deepStrictEqual(Object.keys(codexHooks.hooks), ["SessionStart", "UserPromptSubmit", "PostToolUse", "Stop"])
    const geminiText = fs.readFileSync(path.join(home, ".gemini/settings.json"), "utf8")
    assert.include(geminiText, "\n\t\"theme\"", "keeps the file's tab indentation")
    const gemini = JSON.parse(geminiText)
    assert.deepStrictEqual(gemini.mcpServers.repowire.args, ["mcp", "--backend", "gemini"])
    assert.strictEqual(gemini.hooks.AfterAgent[0].hooks[0].command, "repowire hook stop --backend gemini")
    const opencode = JSON.parse(fs.readFileSync(path.join(home, ".config/opencode/opencode.json"), "utf8"))
    assert.deepStrictEqual(opencode.mcp.repowire.command, ["repowire", "mcp", "--backend", "opencode"])
    assert.isTrue(opencode.mcp.fs.enabled)
    assert.include(fs.readFileSync(path.join(home, ".config/opencode/plugin/repowire.js"), "utf8"), "session.idle")

    const again = planSetup(integrations(home, command), env)
    assert.strictEqual(again.changes.length, 0, "a second setup changes nothing")

    applyUninstall(planUninstall(integrations(home, command), repowireHome), repowireHome)
    assert.deepStrictEqual(snapshot(home), before)
    assert.isFalse(fs.existsSync(path.join(repowireHome, "setup-state.json")))
  })

  it("uninstall keeps what the user changed after setup", () => {
    const { home, repowireHome } = freshHome()
    applySetup(planSetup(integrations(home, command), env), repowireHome)
    const file = path.join(home, ".claude/settings.json")
    const doc = JSON.parse(fs.readFileSync(file, "utf8"))
    doc.model = "sonnet"
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n")
    applyUninstall(planUninstall(integrations(home, command), repowireHome), repowireHome)
    const after = JSON.parse(fs.readFileSync(file, "utf8"))
    assert.strictEqual(after.model, "sonnet")
    assert.deepStrictEqual(Object.keys(after.hooks), ["PostToolUse"])
    assert.strictEqual(after.hooks.PostToolUse.length, 1)
  })

  it("leaves every file untouched when one cannot be parsed, with an error naming it", () => {
    const { home, repowireHome } = freshHome()
    const gemini = path.join(home, ".gemini/settings.json")
    const codex = path.join(home, ".codex/config.toml")
    fs.copyFileSync(path.join(__dirname, "fixtures/broken-settings.json"), gemini)
    fs.copyFileSync(path.join(__dirname, "fixtures/broken-config.toml"), codex)
    const geminiBefore = fs.readFileSync(gemini, "utf8")
    const codexBefore = fs.readFileSync(codex, "utf8")
    const planned = planSetup(integrations(home, command), env)
    assert.strictEqual(planned.errors.length, 2)
    assert.isTrue(planned.errors.some((e) => e.includes(gemini) && e.includes("not valid JSON")))
    assert.isTrue(planned.errors.some((e) => e.includes(`${codex} is not valid TOML`) && e.includes("line 2")))
    const before = snapshot(home)
    assert.throws(() => applySetup(planned, repowireHome), PlanRefused)
    assert.strictEqual(fs.readFileSync(gemini, "utf8"), geminiBefore)
    assert.strictEqual(fs.readFileSync(codex, "utf8"), codexBefore)
    assert.deepStrictEqual(snapshot(home), before, "no other file was written either")
  })

  it("skips runtimes that are not installed", () => {
    const { home } = freshHome()
    fs.rmSync(path.join(home, ".gemini"), { recursive: true })
    const planned = planSetup(integrations(home, command), env)
    assert.deepStrictEqual(planned.skipped.map((i) => i.backend), ["gemini"])
  })

  it("the CLI prints a diff with --dry-run and changes nothing", () => {
    const { home, repowireHome } = freshHome()
    const before = snapshot(home)
    const run = spawnSync(process.execPath, [bin, "setup", "--dry-run"], {
      env: {
        ...process.env,
        HOME: home,
        REPOWIRE_HOME: repowireHome,
        PATH: "",
        REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
      },
      encoding: "utf8"
    })
    assert.strictEqual(run.status, 0, run.stderr)
    assert.include(run.stdout, `+++ ${path.join(home, ".claude.json")}`)
    assert.match(run.stdout, /^\+\s+"repowire": \{$/m)
    assert.deepStrictEqual(snapshot(home), before)
    const real = spawnSync(process.execPath, [bin, "setup", "--http-mcp"], {
      env: {
        ...process.env,
        HOME: home,
        REPOWIRE_HOME: repowireHome,
        PATH: "",
        REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
      },
      encoding: "utf8"
    })
    assert.strictEqual(real.status, 0, real.stderr)
    const config = fs.readFileSync(path.join(repowireHome, "config.yaml"), "utf8")
    assert.match(config, /enabled: true/)
    assert.match(config, /auth_token: \S{40,}/)
    const status = execFileSync(process.execPath, [bin, "status", "--json"], {
      env: {
        ...process.env,
        HOME: home,
        REPOWIRE_HOME: repowireHome,
        PATH: "",
        REPOWIRE_DAEMON__PORT: "1",
        REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
      },
      encoding: "utf8"
    })
    const parsed = JSON.parse(status)
    assert.isFalse(parsed.daemon.running)
    assert.isTrue(parsed.mcp_http)
    assert.isTrue(
      parsed.agents.every((a: { files: Array<{ state: string }> }) => a.files.every((f) => f.state === "installed"))
    )
    const un = spawnSync(process.execPath, [bin, "uninstall"], {
      env: {
        ...process.env,
        HOME: home,
        REPOWIRE_HOME: repowireHome,
        PATH: "",
        REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
      },
      encoding: "utf8"
    })
    assert.strictEqual(un.status, 0, un.stderr)
    assert.deepStrictEqual(snapshot(home), before)
    assert.notMatch(fs.readFileSync(path.join(repowireHome, "config.yaml"), "utf8"), /auth_token|enabled/)
  })
})

describe("setup --relay", () => {
  it("a bad or unreachable relay stops setup before anything changes", () => {
    const { home, repowireHome } = freshHome()
    const env = {
      ...process.env,
      HOME: home,
      REPOWIRE_HOME: repowireHome,
      PATH: "",
      REPOWIRE_SETUP_COMMAND: "[\"repowire\"]"
    }
    const before = snapshot(home)
    const bad = spawnSync(process.execPath, [bin, "setup", "--relay", "not a url"], { env, encoding: "utf8" })
    assert.strictEqual(bad.status, 1)
    assert.include(bad.stderr, "relay.url")
    const down = spawnSync(process.execPath, [bin, "setup", "--relay", "https://127.0.0.1:1"], {
      env,
      encoding: "utf8"
    })
    assert.strictEqual(down.status, 1)
    assert.include(down.stderr, "cannot reach the relay")
    assert.deepStrictEqual(snapshot(home), before, "nothing was installed")
    const config = path.join(repowireHome, "config.yaml")
    assert.isTrue(!fs.existsSync(config) || !fs.readFileSync(config, "utf8").includes("relay"))
  }, 60_000)
})

describe("Codex TOML block", () => {
  it("round-trips a file without a [features] table", () => {
    const text = "model = \"o3\"\n"
    const added = addBlock(text, "[mcp_servers.repowire]\ncommand = \"repowire\"\n", "hooks = true")
    assert.include(added, BEGIN)
    assert.include(added, "[features]\nhooks = true")
    checkToml("x", added)
    assert.strictEqual(removeBlock(added), text)
  })

  it("does not set a feature twice", () => {
    const text = "[features]\nhooks = true\n"
    const added = addBlock(text, "[mcp_servers.repowire]\n", "hooks = true")
    assert.strictEqual(added.match(/hooks = true/g)?.length, 1)
    assert.strictEqual(removeBlock(added), text)
  })

  it("round-trips an empty file", () => {
    const added = addBlock("", "[mcp_servers.repowire]\n", "hooks = true")
    assert.strictEqual(removeBlock(added), "")
  })
})
