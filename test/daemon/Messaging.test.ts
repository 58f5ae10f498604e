import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { connectAgent } from "../support/Agent.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, dashboardSession, register, request } from "../support/Http.js"

let daemon: TestDaemon
beforeAll(async () => {
  daemon = await startDaemon()
})
afterAll(() => daemon.close())

describe("asks, acks, notifies and broadcasts between live peers", () => {
  it("ask → delivered on the target's socket → ack with a reply reaches the asker", async () => {
    const api = await register(daemon.url, { name: "api", backend: "codex", circle: "walk" })
    const web = await register(daemon.url, { name: "web", backend: "claude-code", circle: "walk" })
    const apiSocket = await connectAgent(daemon.url, api)
    const webSocket = await connectAgent(daemon.url, web)

    const asked = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "web", to_peer: "api", text: "which endpoints exist?" },
      headers: as(web)
    })
    assert.strictEqual(asked.status, 200)
    assert.match(asked.body.correlation_id, /^ask-/)
    assert.strictEqual(asked.body.delivery, "delivered")

    const frame = await apiSocket.next("ask")
    assert.strictEqual(frame.correlation_id, asked.body.correlation_id)
    assert.strictEqual(frame.from_name, "web")
    assert.strictEqual(frame.text, "which endpoints exist?")
    apiSocket.send({ type: "delivery_ack", message_id: frame.message_id, outcome: "injected" })

    await waitFor(async () =>
      (await request(daemon.url, "GET", `/asks/${asked.body.correlation_id}`)).body.state === "delivered"
    )

    const acked = await request(daemon.url, "POST", "/ack", {
      body: { correlation_id: asked.body.correlation_id, message: "GET /users and POST /orders" },
      headers: as(api)
    })
    assert.strictEqual(acked.status, 200)
    assert.strictEqual(acked.body.state, "acked")
    assert.strictEqual(acked.body.reply.delivery, "delivered")

    const answer = await webSocket.next("notify")
    assert.strictEqual(answer.in_reply_to, asked.body.correlation_id)
    assert.strictEqual(answer.text, "GET /users and POST /orders")
    assert.strictEqual(answer.from_name, "api")

    const ask = await request(daemon.url, "GET", `/asks/${asked.body.correlation_id}`)
    assert.strictEqual(ask.body.state, "acked")
    assert.strictEqual(ask.body.reply, "GET /users and POST /orders")

    const again = await request(daemon.url, "POST", "/ack", {
      body: { correlation_id: asked.body.correlation_id },
      headers: as(api)
    })
    assert.strictEqual(again.status, 409)
    assert.strictEqual(again.body.error.code, "already_acked")
    apiSocket.close()
    webSocket.close()
  })

  it("only the asked peer can ack, and a follow-up chains with reply_to", async () => {
    const a = await register(daemon.url, { name: "a", backend: "codex", circle: "chain" })
    const b = await register(daemon.url, { name: "b", backend: "codex", circle: "chain" })
    const first = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: a.peer_id, to_peer: b.peer_id, text: "one" },
      headers: as(a)
    })
    const forged = await request(daemon.url, "POST", "/ack", {
      body: { correlation_id: first.body.correlation_id, message: "I am not b" },
      headers: as(a)
    })
    assert.strictEqual(forged.status, 403)
    const followUp = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "a", to_peer: "b", text: "two", reply_to: first.body.correlation_id },
      headers: as(a)
    })
    assert.strictEqual(followUp.status, 200)
    const listed = await request(daemon.url, "GET", `/asks/${followUp.body.correlation_id}`)
    assert.strictEqual(listed.body.reply_to, first.body.correlation_id)
    const unknownChain = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "a", to_peer: "b", text: "three", reply_to: "ask-0000000000" },
      headers: as(a)
    })
    assert.strictEqual(unknownChain.status, 404)
    assert.strictEqual(unknownChain.body.error.code, "ask_not_found")
  })

  it("a notify to an offline peer is queued durably and arrives when it connects", async () => {
    const sender = await register(daemon.url, { name: "sender", backend: "codex", circle: "offline" })
    const sleeper = await register(daemon.url, { name: "sleeper", backend: "gemini", circle: "offline" })
    const sent = await Promise.all([1, 2, 3].map((n) =>
      request(daemon.url, "POST", "/notify", {
        body: { from_peer: "sender", to_peer: "sleeper", text: `note ${n}` },
        headers: as(sender)
      })
    ))
    sent.forEach((r) => assert.strictEqual(r.body.delivery, "queued"))
    const socket = await connectAgent(daemon.url, sleeper)
    const texts = [await socket.next("notify"), await socket.next("notify"), await socket.next("notify")]
      .map((f) => f.text).sort()
    assert.deepStrictEqual(texts, ["note 1", "note 2", "note 3"])
    for (const frame of socket.frames.filter((f) => f.type === "notify")) {
      socket.send({ type: "delivery_ack", message_id: frame.message_id, outcome: "received" })
    }
    socket.close()
    await socket.closed
    const reconnect = await connectAgent(daemon.url, sleeper)
    await new Promise((r) => setTimeout(r, 200))
    assert.strictEqual(
      reconnect.frames.filter((f) => f.type === "notify").length,
      0,
      "confirmed messages stay delivered"
    )
    reconnect.close()
  })

  it("a peer without a transport drains its queue with GET /deliveries", async () => {
    const sender = await register(daemon.url, { name: "s", backend: "codex", circle: "drain" })
    const reader = await register(daemon.url, { name: "r", backend: "codex", circle: "drain" })
    await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "s", to_peer: "r", text: "pick me up" },
      headers: as(sender)
    })
    const stranger = await request(daemon.url, "GET", `/deliveries?peer=${reader.peer_id}`, { headers: as(sender) })
    assert.strictEqual(stranger.status, 403)
    const drained = await request(daemon.url, "GET", `/deliveries?peer=${reader.peer_id}`, { headers: as(reader) })
    assert.deepStrictEqual(drained.body.messages.map((m: any) => m.text), ["pick me up"])
    const empty = await request(daemon.url, "GET", `/deliveries?peer=${reader.peer_id}`, { headers: as(reader) })
    assert.deepStrictEqual(empty.body.messages, [])
  })

  it("a peeked message stays queued until its peer confirms it, and is delivered exactly once", async () => {
    const sender = await register(daemon.url, { name: "ps", backend: "codex", circle: "peek" })
    const reader = await register(daemon.url, { name: "pr", backend: "opencode", circle: "peek" })
    const asked = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "ps", to_peer: "pr", text: "did you get this?" },
      headers: as(sender)
    })
    assert.strictEqual(asked.body.delivery, "queued")
    const peek = `/deliveries?peer=${reader.peer_id}&peek=true`
    assert.strictEqual((await request(daemon.url, "GET", peek, { headers: as(sender) })).status, 403)

    // Peeked, never confirmed (the agent's hand-over did not run): still queued, handed over again.
    const first = await request(daemon.url, "GET", peek, { headers: as(reader) })
    assert.deepStrictEqual(first.body.messages.map((m: any) => [m.text, m.state]), [["did you get this?", "queued"]])
    const again = await request(daemon.url, "GET", peek, { headers: as(reader) })
    assert.deepStrictEqual(again.body.messages.map((m: any) => m.id), [first.body.messages[0].id])
    assert.strictEqual((await request(daemon.url, "GET", `/asks/${asked.body.correlation_id}`)).body.state, "queued")

    const id = first.body.messages[0].id
    const confirm = { peer: reader.peer_id, message_ids: [id] }
    const stranger = await request(daemon.url, "POST", "/deliveries/ack", { body: confirm, headers: as(sender) })
    assert.strictEqual(stranger.status, 403)
    assert.strictEqual((await request(daemon.url, "GET", peek, { headers: as(reader) })).body.messages.length, 1)

    const confirmed = await request(daemon.url, "POST", "/deliveries/ack", { body: confirm, headers: as(reader) })
    assert.strictEqual(confirmed.status, 200)
    assert.deepStrictEqual(confirmed.body.delivered, [id])
    assert.deepStrictEqual((await request(daemon.url, "GET", peek, { headers: as(reader) })).body.messages, [])
    assert.deepStrictEqual(
      (await request(daemon.url, "GET", `/deliveries?peer=${reader.peer_id}`, { headers: as(reader) })).body.messages,
      []
    )
    assert.strictEqual((await request(daemon.url, "GET", `/asks/${asked.body.correlation_id}`)).body.state, "delivered")

    // A second confirm changes nothing: one delivery event in all.
    await request(daemon.url, "POST", "/deliveries/ack", { body: confirm, headers: as(reader) })
    const events = await request(daemon.url, "GET", `/events?peer=${reader.peer_id}&limit=500`)
    assert.strictEqual(events.body.events.filter((e: any) => e.type === "delivery" && e.message_id === id).length, 1)
    const bad = await request(daemon.url, "POST", "/deliveries/ack", {
      body: { peer: reader.peer_id, message_ids: ["x"] },
      headers: as(reader)
    })
    assert.strictEqual(bad.status, 400)
  })

  it("a broadcast reaches exactly the peers of the sender's circle", async () => {
    const boss = await register(daemon.url, { name: "boss", backend: "claude-code", circle: "team" })
    const one = await register(daemon.url, { name: "one", backend: "codex", circle: "team" })
    const two = await register(daemon.url, { name: "two", backend: "gemini", circle: "team" })
    const outsider = await register(daemon.url, { name: "outsider", backend: "codex", circle: "elsewhere" })
    const sockets = await Promise.all([boss, one, outsider].map((p) => connectAgent(daemon.url, p)))
    const result = await request(daemon.url, "POST", "/broadcast", {
      body: { from_peer: "boss", text: "standup in 5" },
      headers: as(boss)
    })
    assert.strictEqual(result.status, 200)
    assert.deepStrictEqual([...result.body.delivered].sort(), ["one"])
    assert.deepStrictEqual([...result.body.queued].sort(), ["two"])
    assert.strictEqual((await sockets[1]!.next("broadcast")).text, "standup in 5")
    await new Promise((r) => setTimeout(r, 200))
    assert.strictEqual(sockets[0]!.frames.filter((f) => f.type === "broadcast").length, 0, "not to the sender")
    assert.strictEqual(sockets[2]!.frames.filter((f) => f.type === "broadcast").length, 0, "not to another circle")
    const twoSocket = await connectAgent(daemon.url, two)
    assert.strictEqual((await twoSocket.next("broadcast")).text, "standup in 5")
    ;[...sockets, twoSocket].forEach((s) => s.close())
  })

  it("agents reach only their own circle; the dashboard reaches every circle", async () => {
    const x = await register(daemon.url, { name: "x", backend: "codex", circle: "cx" })
    const y = await register(daemon.url, { name: "y", backend: "codex", circle: "cy" })
    const byName = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "x", to_peer: "y", text: "hi" },
      headers: as(x)
    })
    assert.strictEqual(byName.status, 404)
    const byId = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "x", to_peer: y.peer_id, text: "hi" },
      headers: as(x)
    })
    assert.strictEqual(byId.status, 403)
    const fromDashboard = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "dashboard", to_peer: "y", text: "hello from the human" },
      headers: await dashboardSession(daemon.url)
    })
    assert.strictEqual(fromDashboard.status, 200)
    const toTheHuman = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "x", to_peer: "dashboard", text: "may I drop the users table?" },
      headers: as(x)
    })
    assert.strictEqual(toTheHuman.status, 200, "humans belong to every circle")
    assert.strictEqual(toTheHuman.body.delivery, "delivered")
  })

  it("display names are unique among live peers of a circle, and a name shared across circles is ambiguous", async () => {
    const first = await register(daemon.url, { name: "svc", backend: "codex", circle: "n1" })
    const second = await register(daemon.url, { name: "svc", backend: "claude-code", circle: "n1" })
    const third = await register(daemon.url, { name: "svc", backend: "gemini", circle: "n1" })
    assert.deepStrictEqual([first.display_name, second.display_name, third.display_name], ["svc", "svc-2", "svc-3"])
    await register(daemon.url, { name: "svc", backend: "codex", circle: "n2" })
    const ambiguous = await request(daemon.url, "GET", "/peers/svc")
    assert.strictEqual(ambiguous.status, 409)
    assert.strictEqual(ambiguous.body.error.code, "ambiguous_peer")
    assert.match(ambiguous.body.error.message, /circle n1/)
    assert.match(ambiguous.body.error.message, /circle n2/)
    const listed = await request(daemon.url, "GET", "/peers?circle=n1")
    assert.strictEqual(listed.body.peers.length, 3)
  })

  it("a peer resumes its identity with its token, and nobody else can", async () => {
    const peer = await register(daemon.url, { name: "resumer", backend: "codex", circle: "resume" })
    const resumed = await request(daemon.url, "POST", "/peers", {
      body: { name: "resumer", backend: "codex", circle: "resume", peer_id: peer.peer_id },
      headers: as(peer)
    })
    assert.strictEqual(resumed.status, 201)
    assert.strictEqual(resumed.body.peer_id, peer.peer_id)
    const hijack = await request(daemon.url, "POST", "/peers", {
      body: { name: "resumer", backend: "codex", circle: "resume", peer_id: peer.peer_id },
      headers: { "x-repowire-peer-token": "not-the-token" }
    })
    assert.strictEqual(hijack.status, 401)
  })

  it("wait blocks until the ask is acked", async () => {
    const q = await register(daemon.url, { name: "q", backend: "codex", circle: "wait" })
    const a = await register(daemon.url, { name: "a", backend: "codex", circle: "wait" })
    const asked = await request(daemon.url, "POST", "/ask", {
      body: { from_peer: "q", to_peer: "a", text: "?" },
      headers: as(q)
    })
    const waiting = request(daemon.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=10`)
    await new Promise((r) => setTimeout(r, 100))
    await request(daemon.url, "POST", "/ack", {
      body: { correlation_id: asked.body.correlation_id, message: "!" },
      headers: as(a)
    })
    const waited = await waiting
    assert.strictEqual(waited.body.state, "acked")
    assert.strictEqual(waited.body.reply, "!")
    const timedOut = await request(daemon.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=0`)
    assert.strictEqual(timedOut.status, 200)
    const open = await request(daemon.url, "GET", `/asks?peer=${a.peer_id}&direction=inbound&open=true`)
    assert.deepStrictEqual(open.body.asks, [])
  })
})

const waitFor = async (check: () => Promise<boolean>, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error("condition not met in time")
}
