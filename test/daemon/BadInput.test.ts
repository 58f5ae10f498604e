import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { connectAgent, openSocket } from "../support/Agent.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, type Registered, request } from "../support/Http.js"

let daemon: TestDaemon
let alice: Registered
beforeAll(async () => {
  daemon = await startDaemon({ daemon: { max_body_bytes: 4096 } })
  alice = await register(daemon.url, { name: "alice", backend: "codex", circle: "bad" })
  await register(daemon.url, { name: "bob", backend: "codex", circle: "bad" })
})
afterAll(() => daemon.close())

const snapshot = async () => ({
  peers: (await request(daemon.url, "GET", "/peers?all=true")).body.peers.length,
  events: (await request(daemon.url, "GET", "/events?since=0&limit=5000")).body.events.length
})

describe("bad input gets a typed error, changes nothing, and the daemon keeps serving", () => {
  const cases: ReadonlyArray<{
    name: string
    route: string
    raw?: string
    body?: unknown
    status: number
    code: string
    mentions?: RegExp
  }> = [
    { name: "malformed JSON", route: "/notify", raw: "{\"from_peer\":", status: 400, code: "invalid_request" },
    { name: "a JSON array", route: "/notify", raw: "[1,2]", status: 400, code: "invalid_request" },
    {
      name: "a wrong type",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "bob", text: 42 },
      status: 400,
      code: "invalid_request",
      mentions: /text/
    },
    {
      name: "a missing field",
      route: "/ask",
      body: { from_peer: "alice", text: "?" },
      status: 400,
      code: "invalid_request",
      mentions: /to_peer/
    },
    {
      name: "an unknown field",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "bob", text: "hi", urgent: true },
      status: 400,
      code: "invalid_request",
      mentions: /urgent/
    },
    {
      name: "empty text",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "bob", text: "" },
      status: 400,
      code: "invalid_request",
      mentions: /text/
    },
    {
      name: "an unknown target",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "carol", text: "hi" },
      status: 404,
      code: "peer_not_found",
      mentions: /carol/
    },
    {
      name: "a malformed correlation id",
      route: "/ack",
      body: { correlation_id: "nope" },
      status: 400,
      code: "invalid_request",
      mentions: /correlation_id/
    },
    {
      name: "an unknown correlation id",
      route: "/ack",
      body: { correlation_id: "ask-00000000000000000000" },
      status: 404,
      code: "ask_not_found"
    },
    {
      name: "an unknown attachment",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "bob", text: "see file", attachments: ["att-0000000000"] },
      status: 404,
      code: "attachment_not_found"
    },
    {
      name: "an oversized body",
      route: "/notify",
      body: { from_peer: "alice", to_peer: "bob", text: "x".repeat(10_000) },
      status: 413,
      code: "payload_too_large"
    }
  ]

  for (const c of cases) {
    it(c.name, async () => {
      const before = await snapshot()
      const reply = await request(daemon.url, "POST", c.route, {
        ...(c.raw === undefined ? { body: c.body } : { raw: c.raw }),
        headers: as(alice)
      })
      assert.strictEqual(reply.status, c.status, reply.text)
      assert.strictEqual(reply.body.error.code, c.code)
      assert.isString(reply.body.error.message)
      if (c.mentions) assert.match(reply.body.error.message, c.mentions)
      assert.deepStrictEqual(await snapshot(), before)
      assert.strictEqual((await request(daemon.url, "GET", "/health")).status, 200)
    })
  }

  it("invalid names and circles at registration", async () => {
    const before = await snapshot()
    for (
      const body of [
        { name: "has space", backend: "codex" },
        { name: "", backend: "codex" },
        { name: "ok", backend: "vim" },
        { name: "ok", backend: "codex", circle: "../etc" },
        { name: "ok", backend: "codex", metadata: "not an object" }
      ]
    ) {
      const reply = await request(daemon.url, "POST", "/peers", { body })
      assert.strictEqual(reply.status, 400, JSON.stringify(body).slice(0, 80))
      assert.strictEqual(reply.body.error.code, "invalid_request")
    }
    assert.deepStrictEqual(await snapshot(), before)
  })

  it("an oversized chunked body without Content-Length", async () => {
    const http = await import("node:http")
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(new URL("/notify", daemon.url), {
        method: "POST",
        headers: { "content-type": "application/json", "transfer-encoding": "chunked", ...as(alice) }
      }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.write(JSON.stringify({ from_peer: "alice", to_peer: "bob", text: "y".repeat(20_000) }))
      req.end()
    })
    assert.strictEqual(status, 413)
  })

  it("bad query parameters", async () => {
    for (const route of ["/events?since=-1", "/events?limit=abc", "/asks?direction=sideways", "/peers?status=asleep"]) {
      const reply = await request(daemon.url, "GET", route)
      assert.strictEqual(reply.status, 400, route)
      assert.strictEqual(reply.body.error.code, "invalid_request")
    }
    const sse = await request(daemon.url, "GET", "/events/stream?since=x")
    assert.strictEqual(sse.status, 400)
  })
})

describe("/ws frames", () => {
  it("closes 4002 when the first frame is not connect", async () => {
    const socket = await openSocket(daemon.url)
    socket.send({ type: "pong", nonce: "1" })
    const closed = await socket.closed
    assert.strictEqual(closed.code, 4002)
    assert.match(closed.reason, /connect/)
  })

  it("closes 4000 on a malformed frame, before or after connect", async () => {
    const before = await openSocket(daemon.url)
    before.send("not json at all")
    assert.strictEqual((await before.closed).code, 4000)
    const after = await connectAgent(daemon.url, alice)
    after.send({ type: "teleport" })
    const closed = await after.closed
    assert.strictEqual(closed.code, 4000)
    assert.match(closed.reason, /malformed frame/)
  })

  it("closes 4001 on a wrong token and 4004 on an unknown peer", async () => {
    const wrong = await openSocket(daemon.url)
    wrong.send({ type: "connect", peer_id: alice.peer_id, token: "wrong" })
    assert.strictEqual((await wrong.closed).code, 4001)
    const unknown = await openSocket(daemon.url)
    unknown.send({ type: "connect", peer_id: "peer-0000000000", token: "x" })
    assert.strictEqual((await unknown.closed).code, 4004)
  })

  it("closes 4002 on a second connect, and 4009 the older socket when the peer reconnects", async () => {
    const first = await connectAgent(daemon.url, alice)
    const second = await connectAgent(daemon.url, alice)
    assert.strictEqual((await first.closed).code, 4009)
    second.send({ type: "connect", peer_id: alice.peer_id, token: alice.token })
    assert.strictEqual((await second.closed).code, 4002)
  })

  it("closes 4008 when no connect arrives in time", async () => {
    const idle = await openSocket(daemon.url)
    assert.strictEqual((await idle.closed).code, 4008)
  }, 15_000)
})
