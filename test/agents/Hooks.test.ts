import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { cleanEnv, httpJson, runBin, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

const fixtures = path.join(__dirname, "fixtures", "payloads")
const payload = (name: string, cwd: string, extra: Record<string, unknown> = {}) => {
  const raw = JSON.parse(
    fs.readFileSync(path.join(fixtures, name), "utf8").replace("CWD", cwd).replace(
      "TRANSCRIPT",
      path.join(fixtures, "claude-transcript.jsonl")
    )
  )
  return JSON.stringify({ ...raw, ...extra })
}

let daemon: RunningDaemon
let project: string
const AUTH = "a-test-auth-token-of-32-characters!!"

beforeAll(async () => {
  daemon = await startDaemon({ auth_token: AUTH })
  project = path.join(tempDir("rw-hooks-"), "api")
  fs.mkdirSync(project)
}, 120_000)
afterAll(async () => {
  await daemon?.stop()
})

const auth = { authorization: `Bearer ${AUTH}` }
const hook = (event: string, input: string, backend = "claude-code") =>
  runBin(["hook", event, "--backend", backend], { env: daemon.env, input, cwd: project })
const cli = (...args: Array<string>) => runBin(args, { env: daemon.env, cwd: project })
const peerNamed = async (name: string, backend: string) => {
  const { body } = await httpJson(daemon.url, "GET", "/peers?all=true", { headers: auth })
  return (body.peers as Array<
    { display_name: string; backend: string; status: string; peer_id: string; turn_state: string | null }
  >).find((p) => p.display_name.startsWith(name) && p.backend === backend)
}
const eventsOf = async (peerId: string) => {
  const { body } = await httpJson(daemon.url, "GET", `/events?peer=${peerId}`, { headers: auth })
  return body.events as Array<{ type: string; role?: string; text?: string; tool?: string; summary?: string }>
}

describe("Claude Code hooks against a real daemon (with daemon.auth_token set)", () => {
  it("walks a session: start, prompt, tool call, stop with waiting messages, end", async () => {
    const start = await hook("session-start", payload("claude-session-start.json", project))
    assert.strictEqual(start.code, 0, start.stderr)
    const context = JSON.parse(start.stdout) as {
      hookSpecificOutput: { hookEventName: string; additionalContext: string }
    }
    assert.strictEqual(context.hookSpecificOutput.hookEventName, "SessionStart")
    assert.include(context.hookSpecificOutput.additionalContext, "\"api\"")
    const peer = (await peerNamed("api", "claude-code"))!
    assert.strictEqual(peer.status, "online")
    const sessionFiles = fs.readdirSync(path.join(daemon.home, "sessions"))
    assert.strictEqual(fs.statSync(path.join(daemon.home, "sessions", sessionFiles[0]!)).mode & 0o777, 0o600)

    const asked = await cli("ask", "api", "Which endpoints exist?", "--json")
    assert.strictEqual(asked.code, 0, asked.stderr)
    const { correlation_id } = JSON.parse(asked.stdout) as { correlation_id: string }

    const prompt = await hook("user-prompt-submit", payload("claude-user-prompt-submit.json", project))
    assert.strictEqual(prompt.code, 0, prompt.stderr)
    const added = JSON.parse(prompt.stdout) as { hookSpecificOutput: { additionalContext: string } }
    assert.include(added.hookSpecificOutput.additionalContext, `ask ${correlation_id} from cli`)
    assert.include(added.hookSpecificOutput.additionalContext, "Which endpoints exist?")
    assert.strictEqual((await peerNamed("api", "claude-code"))!.status, "busy")
    assert.strictEqual((await peerNamed("api", "claude-code"))!.turn_state, "working")

    const tool = await hook("post-tool-use", payload("claude-post-tool-use.json", project))
    assert.strictEqual(tool.code, 0, tool.stderr)
    assert.strictEqual(tool.stdout.trim(), "{}")

    // The ask was handed over with the prompt; Stop reminds of it once, then lets the agent stop.
    const stop = await hook("stop", payload("claude-stop.json", project))
    assert.strictEqual(stop.code, 0, stop.stderr)
    const blocked = JSON.parse(stop.stdout) as { decision?: string; reason?: string }
    assert.strictEqual(blocked.decision, undefined, "an ask already shown with the prompt is not repeated")
    assert.strictEqual((await peerNamed("api", "claude-code"))!.status, "online")
    assert.strictEqual((await peerNamed("api", "claude-code"))!.turn_state, "awaiting_input")

    const notified = await cli("notify", "api", "the staging DB is down")
    assert.strictEqual(notified.code, 0, notified.stderr)
    const asked2 = JSON.parse((await cli("ask", "api", "Can you rerun the migration?", "--json")).stdout) as {
      correlation_id: string
    }
    const stop2 = JSON.parse((await hook("stop", payload("claude-stop.json", project))).stdout) as {
      decision: string
      reason: string
    }
    assert.strictEqual(stop2.decision, "block")
    assert.include(stop2.reason, "message from cli:\nthe staging DB is down")
    assert.include(stop2.reason, `ask ${asked2.correlation_id} from cli`)
    const stop3 = await hook("stop", payload("claude-stop.json", project, { stop_hook_active: true }))
    assert.strictEqual(stop3.stdout.trim(), "{}", "nothing new: the agent may stop (no loop)")

    const events = await eventsOf(peer.peer_id)
    assert.isTrue(
      events.some((e) => e.type === "chat" && e.role === "user" && e.text === "Which endpoints does the API expose?")
    )
    assert.isTrue(
      events.some((e) =>
        e.type === "chat" && e.role === "assistant" && e.text === "The API exposes GET /items and POST /items."
      )
    )
    assert.isTrue(events.some((e) => e.type === "tool_call" && e.tool === "Bash" && e.summary === "npm test -- --run"))

    const end = await hook("session-end", payload("claude-session-end.json", project))
    assert.strictEqual(end.code, 0, end.stderr)
    assert.strictEqual((await peerNamed("api", "claude-code"))!.status, "offline")
    assert.strictEqual((await peerNamed("api", "claude-code"))!.turn_state, null)
  }, 120_000)

  it("answers each runtime in its own format", async () => {
    const codexStart = await hook(
      "session-start",
      JSON.stringify({ cwd: project, hook_event_name: "SessionStart", source: "startup" }),
      "codex"
    )
    assert.strictEqual(codexStart.code, 0, codexStart.stderr)
    await cli("notify", (await peerNamed("api", "codex"))!.peer_id, "ping from cli")
    const codexStop = JSON.parse((await hook("stop", payload("codex-stop.json", project), "codex")).stdout) as {
      decision: string
    }
    assert.strictEqual(codexStop.decision, "block")
    const codexPeer = (await peerNamed("api", "codex"))!
    assert.isTrue(
      (await eventsOf(codexPeer.peer_id)).some((e) => e.type === "chat" && e.text === "The tests pass now.")
    )

    const geminiStart = await hook(
      "SessionStart",
      JSON.stringify({ cwd: project, hook_event_name: "SessionStart", source: "startup" }),
      "gemini"
    )
    assert.strictEqual(geminiStart.code, 0, geminiStart.stderr)
    const gemini = (await peerNamed("api", "gemini"))!
    await cli("notify", gemini.peer_id, "ping gemini")
    const before = JSON.parse(
      (await hook("BeforeAgent", payload("gemini-before-agent.json", project), "gemini")).stdout
    ) as {
      hookSpecificOutput: { hookEventName: string; additionalContext: string }
    }
    assert.strictEqual(before.hookSpecificOutput.hookEventName, "BeforeAgent")
    assert.include(before.hookSpecificOutput.additionalContext, "ping gemini")
    assert.strictEqual(
      (await hook("AfterTool", payload("gemini-after-tool.json", project), "gemini")).stdout.trim(),
      "{}"
    )
    await cli("notify", gemini.peer_id, "second ping")
    const after = JSON.parse(
      (await hook("AfterAgent", payload("gemini-after-agent.json", project), "gemini")).stdout
    ) as {
      decision: string
      reason: string
    }
    assert.strictEqual(after.decision, "deny")
    assert.include(after.reason, "second ping")
    // The continued turn's AfterAgent (Gemini CLI 0.61) holds the first answer, then the new one.
    const followUp = payload("gemini-after-agent.json", project, {
      prompt_response: "Done: the client now calls /v2/items.\n\nAnd the ping is answered."
    })
    assert.strictEqual((await hook("AfterAgent", followUp, "gemini")).code, 0)
    const answers = (await eventsOf(gemini.peer_id)).filter((e) => e.type === "chat" && e.role === "assistant").map((
      e
    ) => e.text)
    assert.deepStrictEqual(answers, ["Done: the client now calls /v2/items.", "And the ping is answered."])

    const opencode = await hook("post-tool-use", payload("opencode-post-tool-use.json", project), "opencode")
    assert.strictEqual(opencode.code, 0, opencode.stderr)
    assert.isDefined(await peerNamed("api", "opencode"), opencode.stderr)
  }, 120_000)

  it("ignores a malformed payload with a reason on stderr, exit 0", async () => {
    const bad = await hook("post-tool-use", JSON.stringify({ cwd: project, tool_name: 7 }))
    assert.strictEqual(bad.code, 0)
    assert.include(bad.stderr, "tool_name: expected a string")
    const notJson = await hook("stop", "{nope")
    assert.strictEqual(notJson.code, 0)
    assert.include(notJson.stderr, "not JSON")
  }, 120_000)
})

describe("SessionStart without a running daemon", () => {
  it("starts the daemon detached, then registers the peer", async () => {
    const home = tempDir("rw-autostart-")
    fs.chmodSync(home, 0o700)
    fs.writeFileSync(path.join(home, "config.yaml"), "daemon:\n  port: 0\n", { mode: 0o600 })
    const env = cleanEnv({ REPOWIRE_HOME: home })
    const dir = path.join(home, "web")
    fs.mkdirSync(dir)
    try {
      const start = await runBin(["hook", "session-start"], {
        env,
        cwd: dir,
        input: JSON.stringify({ cwd: dir, hook_event_name: "SessionStart" })
      })
      assert.strictEqual(start.code, 0, start.stderr)
      const context = JSON.parse(start.stdout) as { hookSpecificOutput: { additionalContext: string } }
      assert.include(context.hookSpecificOutput.additionalContext, "as \"web\"")
      const { url } = JSON.parse(fs.readFileSync(path.join(home, "daemon.json"), "utf8")) as { url: string }
      const { body } = await httpJson(url, "GET", "/peers")
      assert.isTrue((body.peers as Array<{ display_name: string }>).some((p) => p.display_name === "web"))
    } finally {
      await runBin(["daemon", "stop"], { env })
    }
  }, 120_000)
})

describe("a hook with the daemon down", () => {
  it("carries on quickly and says why on stderr", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer()
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        server.close(() => resolve(port))
      })
    })
    const home = tempDir("rw-down-")
    const env = cleanEnv({ REPOWIRE_HOME: home, REPOWIRE_DAEMON__PORT: String(closed) })
    for (
      const [event, file] of [["post-tool-use", "claude-post-tool-use.json"], ["stop", "claude-stop.json"], [
        "user-prompt-submit",
        "claude-user-prompt-submit.json"
      ]] as const
    ) {
      const r = await runBin(["hook", event], { env, input: payload(file, home) })
      assert.strictEqual(r.code, 0)
      assert.strictEqual(r.stdout, "")
      assert.include(r.stderr, `daemon not reachable at http://127.0.0.1:${closed}`)
      assert.include(r.stderr, "the agent carries on")
      assert.isBelow(r.ms, 5000)
    }
  }, 120_000)
})
