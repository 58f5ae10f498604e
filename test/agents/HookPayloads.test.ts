import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { paneSafe } from "../../src/layers/PaneInjectorTmux.js"
import { formatIncoming } from "../../src/programs/agent/DeliveryText.js"
import { resolveIdentity } from "../../src/programs/agent/Identity.js"
import { blockStop } from "../../src/programs/hook/Output.js"
import { lastAssistantText } from "../../src/programs/hook/Transcript.js"
import { decodeHookPayload, parseEventName } from "../../src/protocol/HookPayload.js"

const fixtures = path.join(__dirname, "fixtures", "payloads")
const payload = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(fixtures, name), "utf8").replace("CWD", "/work/api")) as unknown

describe("hook payloads", () => {
  it("decodes Claude Code's five events", () => {
    const start = decodeHookPayload("session-start", payload("claude-session-start.json"))
    assert.deepStrictEqual(start, { ok: true, value: { kind: "session-start", cwd: "/work/api" } })
    const prompt = decodeHookPayload("user-prompt-submit", payload("claude-user-prompt-submit.json"))
    assert.isTrue(
      prompt.ok && prompt.value.kind === "user-prompt-submit" && prompt.value.prompt.startsWith("Which endpoints")
    )
    const tool = decodeHookPayload("post-tool-use", payload("claude-post-tool-use.json"))
    assert.deepStrictEqual(tool, {
      ok: true,
      value: { kind: "post-tool-use", cwd: "/work/api", tool: "Bash", summary: "npm test -- --run" }
    })
    const stop = decodeHookPayload("stop", payload("claude-stop.json"))
    assert.isTrue(stop.ok && stop.value.kind === "stop" && stop.value.stopHookActive === false)
    assert.isTrue(decodeHookPayload("session-end", payload("claude-session-end.json")).ok)
  })

  it("decodes Codex payloads (null transcript, last_assistant_message)", () => {
    const tool = decodeHookPayload("post-tool-use", payload("codex-post-tool-use.json"))
    assert.isTrue(tool.ok && tool.value.kind === "post-tool-use" && tool.value.summary === "cargo test")
    const stop = decodeHookPayload("stop", payload("codex-stop.json"))
    assert.isTrue(stop.ok && stop.value.kind === "stop" && stop.value.assistantText === "The tests pass now.")
  })

  it("maps Gemini CLI's event names and decodes its payloads", () => {
    assert.strictEqual(parseEventName("BeforeAgent"), "user-prompt-submit")
    assert.strictEqual(parseEventName("AfterTool"), "post-tool-use")
    assert.strictEqual(parseEventName("AfterAgent"), "stop")
    assert.strictEqual(parseEventName("nonsense"), undefined)
    const prompt = decodeHookPayload("user-prompt-submit", payload("gemini-before-agent.json"))
    assert.isTrue(prompt.ok)
    // Gemini CLI 0.61 puts the SessionStart context into the prompt it hands BeforeAgent.
    const withIntro = decodeHookPayload("user-prompt-submit", {
      prompt: "<hook_context>You are on the repowire mesh as \"web\"</hook_context>\n\nAsk lead which port."
    })
    assert.isTrue(
      withIntro.ok && withIntro.value.kind === "user-prompt-submit" && withIntro.value.prompt === "Ask lead which port."
    )
    const tool = decodeHookPayload("post-tool-use", payload("gemini-after-tool.json"))
    assert.isTrue(tool.ok && tool.value.kind === "post-tool-use" && tool.value.summary === "/home/me/web/src/client.ts")
    const stop = decodeHookPayload("stop", payload("gemini-after-agent.json"))
    assert.isTrue(
      stop.ok && stop.value.kind === "stop" && stop.value.assistantText === "Done: the client now calls /v2/items."
    )
    assert.deepStrictEqual(blockStop("gemini", "x"), { decision: "deny", reason: "x" })
    assert.deepStrictEqual(blockStop("claude-code", "x"), { decision: "block", reason: "x" })
  })

  it("decodes the OpenCode plugin's payloads", () => {
    const tool = decodeHookPayload("post-tool-use", payload("opencode-post-tool-use.json"))
    assert.isTrue(tool.ok && tool.value.kind === "post-tool-use" && tool.value.tool === "edit")
  })

  it("names the field of a bad payload", () => {
    const bad = decodeHookPayload("post-tool-use", { cwd: "/x", tool_name: 42 })
    assert.deepStrictEqual(bad, { ok: false, error: "tool_name: expected a string, got 42" })
    const missing = decodeHookPayload("user-prompt-submit", { cwd: "/x" })
    assert.isTrue(!missing.ok && missing.error.startsWith("prompt: expected a string"))
    const notObject = decodeHookPayload("stop", [1, 2])
    assert.isTrue(!notObject.ok && notObject.error.startsWith("payload: expected an object"))
    const wrongFlag = decodeHookPayload("stop", { stop_hook_active: "yes" })
    assert.isTrue(!wrongFlag.ok && wrongFlag.error.startsWith("stop_hook_active: expected a boolean"))
  })

  it("reads the last assistant text of a Claude Code transcript", () => {
    assert.strictEqual(
      lastAssistantText(path.join(fixtures, "claude-transcript.jsonl")),
      "The API exposes GET /items and POST /items."
    )
    assert.strictEqual(lastAssistantText("/nonexistent/transcript.jsonl"), undefined)
  })
})

describe("identity and delivered text", () => {
  it("keys a session by tmux pane when in tmux, else by working directory", () => {
    const inTmux = resolveIdentity(
      "claude-code",
      { TMUX: "/tmp/tmux-1000/default,123,0", TMUX_PANE: "%3" },
      "/work/api"
    )
    const samePane = resolveIdentity(
      "claude-code",
      { TMUX: "/tmp/tmux-1000/default,999,0", TMUX_PANE: "%3" },
      "/elsewhere"
    )
    const noTmux = resolveIdentity("claude-code", {}, "/work/api")
    assert.strictEqual(inTmux.key, samePane.key)
    assert.notStrictEqual(inTmux.key, noTmux.key)
    assert.strictEqual(inTmux.pane, "%3")
    assert.strictEqual(noTmux.pane, null)
    assert.strictEqual(noTmux.name, "api")
    assert.notStrictEqual(resolveIdentity("codex", {}, "/work/api").key, noTmux.key)
    assert.strictEqual(resolveIdentity("claude-code", {}, "/work/my project!").name, "my-project-")
  })

  it("strips control characters before typing into a pane", () => {
    assert.strictEqual(paneSafe("ok\u001b[201~rm -rf ~\r\nnext\u0007\u009b1m\tend"), "ok[201~rm -rf ~\nnext1m\tend")
  })

  it("shows sender, ask id and how to answer", () => {
    const text = formatIncoming({
      kind: "ask",
      from_name: "web",
      text: "Which endpoints?",
      correlation_id: "ask-12345678"
    })
    assert.include(text, "ask ask-12345678 from web")
    assert.include(text, "Which endpoints?")
    assert.include(text, "ack tool")
    const reply = formatIncoming({
      kind: "reply",
      from_name: "api",
      text: "GET /items",
      correlation_id: "ask-12345678"
    })
    assert.include(reply, "answer from api to your ask ask-12345678")
  })
})
