import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { openCodePlugin } from "../../src/programs/setup/OpenCodePlugin.js"
import { BIN, httpJson, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

/** The plugin setup writes for OpenCode, loaded as OpenCode would, with a fake OpenCode client. */
let daemon: RunningDaemon
let plugin: (input: { client: unknown; directory: string }) => Promise<Record<string, (...args: Array<any>) => Promise<void>>>
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

describe("OpenCode plugin", () => {
  it("registers the session, reports turns and tool calls, and prompts an idle session with waiting messages", async () => {
    const prompts: Array<{ path: { id: string }; body: { parts: Array<{ text: string }> } }> = []
    const client = { session: { prompt: async (p: (typeof prompts)[number]) => void prompts.push(p) } }
    const hooks = await plugin({ client, directory })
    const { body } = await httpJson(daemon.url, "GET", "/peers")
    const peer = (body.peers as Array<{ display_name: string; backend: string; peer_id: string }>).find((p) => p.backend === "opencode")
    assert.strictEqual(peer?.display_name, "docs-site")

    await hooks["chat.message"]!({}, { parts: [{ type: "text", text: "Update the install page" }] })
    // OpenCode 1.18: the arguments are in input.args; output.metadata holds the result (e.g. a diff).
    await hooks["tool.execute.after"]!({ tool: "edit", args: { filePath: "/docs/install.md" } }, { metadata: { diff: "" } })
    const sender = await httpJson(daemon.url, "POST", "/peers", { body: { name: "lead", backend: "cli" } })
    await httpJson(daemon.url, "POST", "/notify", {
      body: { from_peer: sender.body.peer_id, to_peer: "docs-site", text: "also fix the changelog" },
      headers: { "x-repowire-peer-token": sender.body.token }
    })
    await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
    assert.strictEqual(prompts.length, 1)
    assert.strictEqual(prompts[0]!.path.id, "ses_1")
    assert.include(prompts[0]!.body.parts[0]!.text, "message from lead:\nalso fix the changelog")
    await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "ses_1" } } })
    assert.strictEqual(prompts.length, 1, "nothing new, no prompt")

    const events = await httpJson(daemon.url, "GET", `/events?peer=${peer!.peer_id}`)
    const all = events.body.events as Array<{ type: string; role?: string; tool?: string; summary?: string }>
    assert.strictEqual(all.find((e) => e.type === "tool_call")?.summary, "/docs/install.md", "the call's arguments, not {}")
    const types = all.map((e) => `${e.type}:${e.role ?? e.tool ?? ""}`)
    assert.includeMembers(types, ["chat:user", "tool_call:edit"])
    assert.notInclude(types, "chat:assistant", "OpenCode gives no assistant text: no empty turn is reported")

    await hooks.event!({ event: { type: "session.deleted", properties: {} } })
    const after = await httpJson(daemon.url, "GET", `/peers/${peer!.peer_id}`)
    assert.strictEqual(after.body.status, "offline")
  }, 120_000)
})
