import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { integrations } from "../../src/programs/setup/Integrations.js"
import { applySetup, applyUninstall, planSetup, planUninstall, readState } from "../../src/programs/setup/Plan.js"
import { readShimTarget, shimPath, shimState, shimText, writeShim } from "../../src/programs/setup/Shim.js"
import { isRepowireHookCommand } from "../../src/programs/setup/Upstream.js"
import { parseEventName, resolveUpstreamSession, UPSTREAM_NOOP_EVENTS } from "../../src/protocol/HookPayload.js"

const fixture = path.join(__dirname, "fixtures", "upstream-home")
const dist = path.join(__dirname, "..", "..", "dist")

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

const upstreamHome = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "rw-upstream-"))
  const home = path.join(root, "home")
  fs.cpSync(fixture, home, { recursive: true })
  return { home, repowireHome: path.join(root, "repowire") }
}

const env = { PATH: "" }

/** Every hook command in a hooks document, as "Event: command". */
const hookCommands = (doc: { hooks?: Record<string, Array<{ hooks: Array<{ command: string }> }>> }) =>
  Object.entries(doc.hooks ?? {}).flatMap(([event, groups]) =>
    groups.flatMap((g) => g.hooks.map((h) => `${event}: ${h.command}`))
  )

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

describe("setup over upstream repowire's configs", () => {
  it("replaces upstream's hooks and MCP entries with one set, keeps a backup, and uninstall restores the bytes", () => {
    const { home, repowireHome } = upstreamHome()
    const before = snapshot(home)
    const shim = shimPath(repowireHome)
    const all = integrations(home, [shim])
    const planned = planSetup(all, env)
    assert.deepStrictEqual(planned.errors.filter((e) => !e.includes("config.toml")), [])
    applySetup(planned, repowireHome)

    const claude = readJson(path.join(home, ".claude/settings.json"))
    const claudeHooks = hookCommands(claude)
    assert.strictEqual(claude.model, "opus")
    assert.deepStrictEqual(claudeHooks.filter((c) => c.startsWith("PostToolUse") && c.includes("prettier")).length, 1)
    const repowireHooks = claudeHooks.filter((c) => isRepowireHookCommand(c))
    assert.deepStrictEqual(repowireHooks.sort(), [
      `PostToolUse: ${shim} hook post-tool-use --backend claude-code`,
      `SessionEnd: ${shim} hook session-end --backend claude-code`,
      `SessionStart: ${shim} hook session-start --backend claude-code`,
      `Stop: ${shim} hook stop --backend claude-code`,
      `UserPromptSubmit: ${shim} hook user-prompt-submit --backend claude-code`
    ])
    assert.notProperty(claude.hooks, "Notification")
    assert.notProperty(claude.hooks, "StopFailure")

    const claudeJson = readJson(path.join(home, ".claude.json"))
    assert.deepStrictEqual(claudeJson.mcpServers.repowire, {
      type: "stdio",
      command: shim,
      args: ["mcp", "--backend", "claude-code"]
    })
    assert.notProperty(claudeJson.mcpServers, "repowire-channel")
    assert.strictEqual(claudeJson.mcpServers.github.command, "npx")

    const gemini = readJson(path.join(home, ".gemini/settings.json"))
    assert.strictEqual(gemini.theme, "GitHub")
    assert.isTrue(hookCommands(gemini).every((c) => c.includes(shim)), hookCommands(gemini).join("\n"))
    assert.strictEqual(hookCommands(gemini).length, 5)
    assert.deepStrictEqual(gemini.mcpServers.repowire, { command: shim, args: ["mcp", "--backend", "gemini"] })

    const codexHooks = hookCommands(readJson(path.join(home, ".codex/hooks.json")))
    assert.strictEqual(codexHooks.length, 4)
    assert.isTrue(codexHooks.every((c) => c.includes(shim)), codexHooks.join("\n"))

    assert.isFalse(
      fs.existsSync(path.join(home, ".config/opencode/plugin/repowire.ts")),
      "upstream's plugin is moved away"
    )
    assert.isTrue(fs.existsSync(path.join(home, ".config/opencode/plugin/repowire.js")))
    assert.strictEqual(readJson(path.join(home, ".config/opencode/opencode.json")).mcp.repowire.command[0], shim)

    const takeover = readState(repowireHome).takeover ?? []
    const taken = takeover.map((t) => path.relative(home, t.file)).sort()
    assert.includeMembers(taken, [
      ".claude.json",
      ".claude/settings.json",
      ".codex/hooks.json",
      ".config/opencode/plugin/repowire.ts",
      ".gemini/settings.json"
    ])
    for (const t of takeover) assert.strictEqual(fs.readFileSync(t.backup, "utf8"), before[path.relative(home, t.file)])
    assert.isTrue(
      takeover.find((t) => t.file.endsWith("settings.json") && t.file.includes(".claude"))!.entries.some((e) =>
        e.includes("Notification: repowire hook notification")
      )
    )

    assert.strictEqual(planSetup(integrations(home, [shim]), env).changes.length, 0, "a second setup changes nothing")

    applyUninstall(planUninstall(integrations(home, [shim]), repowireHome), repowireHome)
    const after = snapshot(home)
    delete after[".codex/config.toml"]
    const expected = { ...before }
    delete expected[".codex/config.toml"]
    assert.deepStrictEqual(after, expected)
  })

  it("an older setup's command (another install's path) is replaced, not doubled", () => {
    const { home, repowireHome } = upstreamHome()
    fs.rmSync(path.join(home, ".codex"), { recursive: true })
    applySetup(planSetup(integrations(home, ["/old/node", "/old/clone/dist/bin.mjs"]), env), repowireHome)
    const shim = shimPath(repowireHome)
    applySetup(planSetup(integrations(home, [shim]), env), repowireHome)
    const commands = hookCommands(readJson(path.join(home, ".claude/settings.json"))).filter(isRepowireHookCommand)
    assert.strictEqual(commands.length, 5)
    assert.isTrue(commands.every((c) => c.includes(shim)))
  })

  it("Codex config.toml keeps exactly one [mcp_servers.repowire] and the current [features] hooks flag", () => {
    const { home, repowireHome } = upstreamHome()
    const planned = planSetup(integrations(home, [shimPath(repowireHome)]), env)
    assert.deepStrictEqual(planned.errors, [])
    applySetup(planned, repowireHome)
    const toml = fs.readFileSync(path.join(home, ".codex/config.toml"), "utf8")
    assert.strictEqual(toml.match(/^\[mcp_servers\.repowire\]/gm)?.length, 1)
    assert.match(toml, /^hooks = true/m)
  })
})

describe("upstream hook names", () => {
  it("accepts session, prompt and notification", () => {
    assert.strictEqual(parseEventName("prompt"), "user-prompt-submit")
    assert.strictEqual(parseEventName("session"), "session-start")
    assert.strictEqual(
      resolveUpstreamSession("session", "session-start", { hook_event_name: "SessionEnd" }),
      "session-end"
    )
    assert.strictEqual(
      resolveUpstreamSession("session", "session-start", { hook_event_name: "SessionStart" }),
      "session-start"
    )
    assert.include(UPSTREAM_NOOP_EVENTS, "notification")
    const run = spawnSync(process.execPath, [path.join(dist, "bin.mjs"), "hook", "notification"], {
      input: JSON.stringify({ hook_event_name: "Notification", message: "Claude is waiting for your input" }),
      encoding: "utf8",
      env: { ...process.env, REPOWIRE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "rw-hook-")) }
    })
    assert.strictEqual(run.status, 0, run.stderr)
    assert.strictEqual(run.stderr, "")
  })
})

describe("the shim", () => {
  it("runs the install it names, falls back to a repowire bundle on PATH when that install moved, else says why", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "rw-shim-"))
    const home = path.join(root, "rwhome")
    const installA = path.join(root, "a")
    fs.mkdirSync(installA)
    fs.cpSync(dist, path.join(installA, "dist"), { recursive: true })
    fs.symlinkSync(path.join(dist, "..", "node_modules"), path.join(installA, "node_modules"))
    writeShim(home, { node: process.execPath, bin: path.join(installA, "dist", "bin.mjs") })
    const text = fs.readFileSync(shimPath(home), "utf8")
    assert.deepStrictEqual(readShimTarget(text), {
      node: process.execPath,
      bin: path.join(installA, "dist", "bin.mjs")
    })
    assert.include(
      shimText(home, { node: "/n", bin: "/b" }),
      "--no-memory-reducer --max-semi-space-size=32 --v8-pool-size=1"
    )
    assert.strictEqual(shimState(home).state, "ok")
    const run = (extraPath = "") =>
      spawnSync(shimPath(home), ["--version"], {
        encoding: "utf8",
        env: { PATH: `${extraPath}:/usr/bin:/bin`, HOME: root }
      })
    assert.strictEqual(run().stdout.trim(), "0.1.0")

    const installB = path.join(root, "b")
    fs.renameSync(installA, installB)
    const broken = shimState(home)
    assert.strictEqual(broken.state, "broken")
    const gone = run()
    assert.strictEqual(gone.status, 127)
    assert.include(gone.stderr, "is gone; run `repowire setup`")

    const binDir = path.join(root, "bin-b")
    fs.mkdirSync(binDir)
    fs.symlinkSync(path.join(installB, "dist", "bin.mjs"), path.join(binDir, "repowire"))
    fs.chmodSync(path.join(installB, "dist", "bin.mjs"), 0o755)
    const fallback = run(binDir)
    assert.strictEqual(fallback.stdout.trim(), "0.1.0", fallback.stderr)
  })
})

describe("doctor and setup from the CLI, over upstream's configs", () => {
  it("doctor names what no longer runs and what was taken over; setup repairs a broken shim", () => {
    const { home, repowireHome } = upstreamHome()
    fs.rmSync(path.join(home, ".codex", "config.toml"))
    const bin = path.join(dist, "bin.mjs")
    const env = {
      ...process.env,
      HOME: home,
      REPOWIRE_HOME: repowireHome,
      PATH: "/usr/bin:/bin",
      REPOWIRE_DAEMON__PORT: "1",
      NO_COLOR: "1"
    }
    delete (env as Record<string, string | undefined>).REPOWIRE_SETUP_COMMAND
    const run = (...args: Array<string>) =>
      spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: 30_000 })

    const before = run("doctor")
    assert.notStrictEqual(before.status, 0)
    assert.include(before.stdout, "runs repowire, which does not run")
    assert.include(before.stdout, "another repowire's entries")

    const setup = run("setup", "--yes")
    assert.strictEqual(setup.status, 0, setup.stderr)
    const shim = shimPath(repowireHome)
    assert.strictEqual(shimState(repowireHome).state, "ok")
    const after = run("doctor")
    assert.notInclude(after.stdout, "FAIL", after.stdout)
    assert.include(
      after.stdout,
      `taken over (upstream's, or an older setup's): ${path.join(home, ".claude", "settings.json")}`
    )

    // The install the shim names goes away: doctor says so, setup points the shim here again.
    writeShim(repowireHome, { node: process.execPath, bin: path.join(os.tmpdir(), "gone", "dist", "bin.mjs") })
    const broken = run("doctor")
    assert.notStrictEqual(broken.status, 0)
    assert.include(
      broken.stdout,
      `runs ${shim}, which ${shim} runs ${path.join(os.tmpdir(), "gone", "dist", "bin.mjs")}, which is gone`
    )
    assert.strictEqual(run("setup", "--yes").status, 0)
    assert.strictEqual(shimState(repowireHome).state, "ok")

    const hook = spawnSync(shim, ["hook", "notification"], { env, input: "{}", encoding: "utf8" })
    assert.strictEqual(hook.status, 0, hook.stderr)

    const un = run("uninstall")
    assert.strictEqual(un.status, 0, un.stderr)
    assert.isFalse(fs.existsSync(shim))
    assert.strictEqual(
      fs.readFileSync(path.join(home, ".claude", "settings.json"), "utf8"),
      fs.readFileSync(path.join(fixture, ".claude", "settings.json"), "utf8")
    )
  }, 120_000)
})
