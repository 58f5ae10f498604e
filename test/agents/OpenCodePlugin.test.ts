import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { openCodePlugin } from "../../src/programs/setup/OpenCodePlugin.js"
import { asHuman } from "../support/Http.js"
import { BIN, httpJson, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

/** The plugin setup writes for OpenCode, loaded as OpenCode would, with a fake OpenCode client. */
let daemon: RunningDaemon
let plugin: (
  input: { client: unknown; directory: string }
) => Promise<Record<string, (...args: Array<any>) => Promise<void>>>
let directory: string

beforeAll(async () => {
  daemon = await startDaemon()
  const root = tempDir("rw-opencode-")
  directory = path.join(root, "docs-site")
  fs.mkdirSync(directory)
  const file = path.join(root, "repowire.mjs")
  fs.writeFileSync(file, openCodePlugin([process.execPath, BIN]))
  for (const [k, v] of Object.entries(daemon.env)) if (k.startsWith("REPOWIRE_")) process.env[k] = v
  plugin = (await import(pathToFileURL(file).href)).RepowirePlugin
}, 120_000)

afterAll(async () => {
  delete process.env.REPOWIRE_HOME
  await daemon?.stop()
})

type Prompt = { path: { id: string }; body: { parts: Array<{ text: string }> } }
type Msg = { info: { id: string; role: string }; parts: Array<{ type: string; text?: string }> }

/**
 * A fake OpenCode v1 client: `messages` is the session's history; `prompt` records the prompt and
 * answers as OpenCode does, with a new assistant message when a turn ran (`runs`), or with the
 * turn before when it did not (an exiting `opencode run`). Either way the prompt's user message
 * went through the chat.message hook first.
 */
const fakeClient = () => {
  const prompts: Array<Prompt> = []
  const history: Array<Msg> = []
  let n = 0
  const state: { runs: boolean; chatMessage?: (parts: Array<{ type: string; text: string }>) => Promise<void> } = {
    runs: true
  }
  const answer = (text: string) => {
    const m = {
      info: { id: `msg_a${++n}`, role: "assistant" },
      parts: [{ type: "step-start" }, { type: "text", text }]
    }
    history.push(m)
    return m
  }
  const client = {
    session: {
      messages: async () => ({ data: history }),
      prompt: async (p: Prompt) => {
        prompts.push(p)
        // OpenCode runs the chat.message hook on a prompt's user message before it answers.
        await state.chatMessage?.([{ type: "text", text: p.body.parts[0]!.text }])
        history.push({
          info: { id: `msg_u${++n}`, role: "user" },
          parts: [{ type: "text", text: p.body.parts[0]!.text }]
        })
        if (!state.runs) {
          return { data: [...history].reverse().find((m) => m.info.role === "assistant" && m.info.id !== `msg_u${n}`) }
        }
        return { data: answer("On it.") }
      }
    }
  }
  return { client, prompts, history, answer, state }
}

const queued = async (peerId: string, token: string) =>
  (await httpJson(daemon.url, "GET", `/deliveries?peer=${peerId}&peek=true`, {
    headers: { "x-repowire-peer-token": token }
  })).body
    .messages as Array<{ id: string; text: string }>

const sessionToken = (peerId: string): string => {
  const dir = path.join(process.env.REPOWIRE_HOME!, "sessions")
  for (const f of fs.readdirSync(dir)) {
    const s = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"))
    if (s.peer_id === peerId) return s.token
  }
  throw new Error("no session file")
}

describe("OpenCode plugin", () => {
  it(
    "registers the session, adds the intro to the system prompt, reports turns, answers and tool calls, and hands over waiting messages",
    async () => {
      const fake = fakeClient()
      const hooks = await plugin({ client: fake.client, directory })
      fake.state.chatMessage = (parts) => hooks["chat.message"]!({ sessionID: "ses_1" }, { parts })
      const { body } = await httpJson(daemon.url, "GET", "/peers")
      const peer = (body.peers as Array<{ display_name: string; backend: string; peer_id: string }>).find((p) =>
        p.backend === "opencode"
      )
      assert.strictEqual(peer?.display_name, "docs-site")
      const token = sessionToken(peer!.peer_id)

      const system = { system: ["You are opencode."] }
      await hooks["experimental.chat.system.transform"]!({ sessionID: "ses_1" }, system)
      assert.strictEqual(system.system.length, 2)
      assert.include(system.system[1], "repowire mesh as \"docs-site\"")
      await hooks["experimental.chat.system.transform"]!({ sessionID: "ses_1" }, system)
      assert.strictEqual(system.system.length, 2, "added once")

      const sender = await httpJson(daemon.url, "POST", "/peers", {
        body: { name: "lead", backend: "cli" },
        headers: asHuman(daemon.home)
      })
      const asLead = { "x-repowire-peer-token": sender.body.token }
      const notify = (text: string) =>
        httpJson(daemon.url, "POST", "/notify", {
          body: { from_peer: sender.body.peer_id, to_peer: "docs-site", text },
          headers: asLead
        })

      // A message waiting before the user's prompt joins that prompt, and is then delivered.
      await notify("the docs build is red")
      const parts = [{ type: "text", text: "Update the install page" }]
      await hooks["chat.message"]!({ sessionID: "ses_1" }, { parts })
      assert.include(parts[0]!.text, "Update the install page\n\n")
      assert.include(parts[0]!.text, "message from lead:\nthe docs build is red")
      assert.deepStrictEqual(await queued(peer!.peer_id, token), [])

      // OpenCode 1.18: the arguments are in input.args; output.metadata holds the result (e.g. a diff).
      await hooks["tool.execute.after"]!({ tool: "edit", args: { filePath: "/docs/install.md" } }, {
        metadata: { diff: "" }
      })
      fake.history.push({ info: { id: "msg_u0", role: "user" }, parts })
      fake.answer("")
      fake.answer("The install page now covers Node 20.")

      // Idle: the answer is reported; a waiting message is handed over and delivered once the prompt ran a turn.
      await notify("also fix the changelog")
      await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
      assert.strictEqual(fake.prompts.length, 1)
      assert.strictEqual(fake.prompts[0]!.path.id, "ses_1")
      assert.include(fake.prompts[0]!.body.parts[0]!.text, "message from lead:\nalso fix the changelog")
      assert.deepStrictEqual(await queued(peer!.peer_id, token), [])

      // The plugin's own prompt is not a user's turn (its chat.message is skipped); nothing new, no prompt.
      await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
      assert.strictEqual(fake.prompts.length, 1, "nothing new, no prompt")

      // A prompt OpenCode accepts but never runs (opencode run exiting): the message stays queued,
      // is handed over again at the next idle, and is delivered once a turn ran on it.
      fake.state.runs = false
      await notify("and bump the version")
      await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
      assert.strictEqual(fake.prompts.length, 2)
      assert.deepStrictEqual((await queued(peer!.peer_id, token)).map((m) => m.text), ["and bump the version"])
      fake.state.runs = true
      await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
      assert.strictEqual(fake.prompts.length, 3)
      assert.include(fake.prompts[2]!.body.parts[0]!.text, "and bump the version")
      assert.deepStrictEqual(await queued(peer!.peer_id, token), [])

      const events = await httpJson(daemon.url, "GET", `/events?peer=${peer!.peer_id}&limit=500`)
      const all = events.body.events as Array<
        { type: string; role?: string; text?: string; tool?: string; summary?: string; message_id?: string }
      >
      assert.strictEqual(
        all.find((e) => e.type === "tool_call")?.summary,
        "/docs/install.md",
        "the call's arguments, not {}"
      )
      const chats = all.filter((e) => e.type === "chat").map((e) => `${e.role}:${e.text}`)
      assert.deepStrictEqual(chats.filter((c) => c.startsWith("user:")), ["user:Update the install page"])
      assert.deepStrictEqual(chats.filter((c) => c.startsWith("assistant:")), [
        "assistant:The install page now covers Node 20.",
        "assistant:On it."
      ])
      assert.strictEqual(all.filter((e) => e.type === "delivery").length, 3, "each message delivered once")

      await hooks.event!({ event: { type: "session.deleted", properties: {} } })
      const after = await httpJson(daemon.url, "GET", `/peers/${peer!.peer_id}`)
      assert.strictEqual(after.body.status, "offline")
    },
    120_000
  )
})
