import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import WebSocket from "ws"
import { startDaemon, tempHome, type TestDaemon } from "../support/Daemon.js"
import { as, register, type Registered, request } from "../support/Http.js"
import { assertDenied, json, writePolicy } from "./support.js"

const POLICY = `
default: allow
rules:
  - {effect: deny, from: "backend:codex", to: "name:prod-*", actions: [ask, notify]}
  - {effect: deny, from: "name:codex-*", to: "name:secret-*", actions: [read]}
  - {effect: deny, from: "name:quiet", actions: [broadcast]}
  - {effect: deny, from: "*", to: "name:prod-*", actions: [broadcast]}
  - {effect: deny, from: "backend:codex", actions: [attach]}
  - {effect: deny, from: "backend:codex", to: "name:boss", actions: [ack]}
`

let daemon: TestDaemon
let codex: Registered, secret: Registered, claude: Registered, quiet: Registered, boss: Registered

const state = async () => {
  const asks = await json(daemon.url, "GET", "/asks", {})
  const events = await json(daemon.url, "GET", "/events?limit=5000", {})
  return {
    asks: asks.body.asks as Array<unknown>,
    messages: (events.body.events as Array<{ type: string }>).filter((e) => e.type !== "policy_denied")
  }
}

beforeAll(async () => {
  const home = await tempHome("rw-policy-")
  writePolicy(home, POLICY)
  daemon = await startDaemon({}, home)
  const peer = (name: string, backend: string) => register(daemon.url, { name, backend, circle: "web" })
  codex = await peer("codex-1", "codex")
  await peer("prod-db", "claude-code")
  secret = await peer("secret-store", "claude-code")
  claude = await peer("claude", "claude-code")
  quiet = await peer("quiet", "gemini")
  boss = await peer("boss", "claude-code")
}, 60_000)

afterAll(() => daemon?.close())

describe("the access rules at every way in", () => {
  it("refuses an ask on the direct route and through the HTTP app alike, storing nothing but the denial", async () => {
    const before = await state()
    const body = { from_peer: "codex-1", to_peer: "prod-db", text: "DROP TABLE users" }
    const direct = await request(daemon.url, "POST", "/ask", { body, headers: as(codex) })
    assertDenied(direct, "rule 1 (deny backend:codex → name:prod-* ask,notify)")
    assert.include(direct.body.error.message, "codex-1 may not ask prod-db")
    // A chunked body is handed on to the HTTP app.
    const viaApp = await request(daemon.url, "POST", "/ask", { body, headers: as(codex), chunked: true })
    assert.deepStrictEqual(viaApp.body, direct.body)
    const notify = await request(daemon.url, "POST", "/notify", { body, headers: as(codex) })
    assertDenied(notify, "rule 1")
    assert.deepStrictEqual(await state(), before, "no ask, no message event")

    const events = (await json(daemon.url, "GET", "/events?limit=5000", {})).body.events as Array<
      Record<string, unknown>
    >
    const denied = events.filter((e) => e.type === "policy_denied")
    assert.strictEqual(denied.length, 3)
    assert.deepInclude(denied[0], {
      from_name: "codex-1",
      to_name: "prod-db",
      action: "ask",
      tool: null,
      via: "local",
      rule: 1,
      reason: "rule 1 (deny backend:codex → name:prod-* ask,notify)"
    })
    assert.notInclude(JSON.stringify(denied), "DROP TABLE", "never the message text")
  })

  it("lets every other ask through", async () => {
    const ok = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "claude", to_peer: "prod-db", text: "hi" },
      headers: as(claude)
    })
    assert.strictEqual(ok.status, 200, ok.text)
  })

  it("refuses an ack the rules deny, leaving the ask open", async () => {
    const asked = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "boss", to_peer: "codex-1", text: "status?" },
      headers: as(boss)
    })
    assert.strictEqual(asked.status, 200, asked.text)
    const id = asked.body.correlation_id as string
    const ack = await request(daemon.url, "POST", "/ack", {
      body: { correlation_id: id, message: "fine" },
      headers: as(codex)
    })
    assertDenied(ack, "rule 6")
    assert.notStrictEqual((await json(daemon.url, "GET", `/asks/${id}`, {})).body.state, "acked")
  })

  it("skips a denied recipient of a broadcast with the reason, and refuses a denied broadcaster whole", async () => {
    const sent = await request(daemon.url, "POST", "/broadcast", {
      body: { from_peer: "claude", text: "deploying" },
      headers: as(claude)
    })
    assert.strictEqual(sent.status, 200, sent.text)
    const reached = [...sent.body.delivered, ...sent.body.queued] as Array<string>
    assert.notInclude(reached, "prod-db")
    assert.include(reached, "codex-1")
    assert.deepStrictEqual(sent.body.skipped, [{
      name: "prod-db",
      reason: "claude may not broadcast prod-db: rule 4 (deny * → name:prod-* broadcast)"
    }])
    const before = await state()
    const refused = await request(daemon.url, "POST", "/broadcast", {
      body: { from_peer: "quiet", text: "hello" },
      headers: as(quiet)
    })
    assertDenied(refused, "rule 3 (deny name:quiet broadcast)")
    assert.deepStrictEqual(await state(), before)
  })

  it("hides what a peer may not read: listed peers, events, one peer by name", async () => {
    const asCodex = (await json(daemon.url, "GET", "/peers", as(codex))).body.peers as Array<{ display_name: string }>
    assert.notInclude(asCodex.map((p) => p.display_name), "secret-store")
    assert.include(asCodex.map((p) => p.display_name), "prod-db")
    const asClaude = (await json(daemon.url, "GET", "/peers", as(claude))).body.peers as Array<{ display_name: string }>
    assert.include(asClaude.map((p) => p.display_name), "secret-store")
    assertDenied(await json(daemon.url, "GET", "/peers/secret-store", as(codex)), "rule 2")
    const events = (await json(daemon.url, "GET", "/events?limit=5000", as(codex))).body.events as Array<
      Record<string, any>
    >
    assert.isFalse(events.some((e) => JSON.stringify(e).includes(secret.peer_id)))
    assert.isTrue(events.some((e) => e.type === "peer_joined" && e.peer.display_name === "prod-db"))
  })

  it("hides them from the live streams too: SSE and /events/ws", async () => {
    const collect = (route: string, done: (text: string) => boolean) =>
      new Promise<string>((resolve, reject) => {
        let text = ""
        const req = http.get(`${daemon.url}${route}`, { headers: as(codex) }, (res) => {
          res.on("data", (c: Buffer) => {
            text += c.toString()
            if (done(text)) {
              req.destroy()
              resolve(text)
            }
          })
        })
        req.on("error", (e) => (text === "" ? reject(e) : resolve(text)))
      })
    const sse = await collect("/events/stream?since=0", (t) => t.includes("\"display_name\":\"boss\""))
    assert.include(sse, "prod-db")
    assert.notInclude(sse, secret.peer_id)
    const ws = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(`${daemon.url.replace("http", "ws")}/events/ws?since=0`, { headers: as(codex) })
      let all = ""
      socket.on("message", (m) => {
        all += `${m.toString()}\n`
        if (all.includes("\"display_name\":\"boss\"")) {
          socket.close()
          resolve(all)
        }
      })
      socket.on("error", reject)
    })
    assert.include(ws, "prod-db")
    assert.notInclude(ws, secret.peer_id)
  })

  it("refuses an upload (attach) to a denied caller, storing no file", async () => {
    const form = new FormData()
    form.append("file", new Blob(["secret"], { type: "text/plain" }), "a.txt")
    const reply = await fetch(`${daemon.url}/attachments`, { method: "POST", body: form, headers: as(codex) })
    assert.strictEqual(reply.status, 403)
    assert.strictEqual(((await reply.json()) as any).error.code, "policy_denied")
    const dir = path.join(daemon.home, "attachments")
    assert.isTrue(!fs.existsSync(dir) || fs.readdirSync(dir).length === 0)
  })

  it("reports itself in /health and GET /policy, and answers POST /policy/check", async () => {
    const health = (await json(daemon.url, "GET", "/health", {})).body
    assert.deepStrictEqual(health.policy, { status: "ok", rules: 6 })
    const view = (await json(daemon.url, "GET", "/policy", {})).body
    assert.strictEqual(view.rules_in_force[0].text, "deny backend:codex → name:prod-* ask,notify")
    const check = await json(daemon.url, "POST", "/policy/check", {}, { from: "codex-1", to: "prod-db", action: "ask" })
    assert.deepStrictEqual(check.body, {
      decision: "deny",
      rule: 1,
      reason: "rule 1 (deny backend:codex → name:prod-* ask,notify)"
    })
    const allowed = await json(daemon.url, "POST", "/policy/check", {}, { from: "claude", tool: "broadcast" })
    assert.deepStrictEqual(allowed.body, { decision: "allow", rule: null, reason: "default (allow)" })
    const unknown = await json(daemon.url, "POST", "/policy/check", {}, {
      from: "nobody",
      to: "prod-db",
      action: "ask"
    })
    assert.strictEqual(unknown.status, 404)
  })
})
