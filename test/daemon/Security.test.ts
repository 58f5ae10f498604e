import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { connectAgent, openSocket } from "../support/Agent.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"

const TOKEN = "s3cret-token-for-tests-0123456789"

let open: TestDaemon
let locked: TestDaemon
beforeAll(async () => {
  open = await startDaemon()
  locked = await startDaemon({ daemon: { auth_token: TOKEN } })
})
afterAll(async () => {
  await open.close()
  await locked.close()
})

describe("Host header (DNS rebinding)", () => {
  it("accepts loopback names with the daemon's port and refuses anything else", async () => {
    for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`, `[::1]:${open.port}`]) {
      assert.strictEqual((await request(open.url, "GET", "/peers", { headers: { host } })).status, 200, host)
    }
    for (const host of ["evil.example", `evil.example:${open.port}`, "127.0.0.1:1", `127.0.0.1.nip.io:${open.port}`]) {
      const reply = await request(open.url, "GET", "/peers", { headers: { host } })
      assert.strictEqual(reply.status, 403, host)
      assert.strictEqual(reply.body.error.code, "forbidden")
    }
  })

  it("refuses a WebSocket upgrade with a foreign Host", async () => {
    await new Promise<void>((resolve, reject) => {
      openSocket(open.url, { host: "evil.example" }).then(() => reject(new Error("upgrade accepted")), () => resolve())
    })
  })
})

describe("Origin (CSRF, cross-site WebSocket hijacking) and CORS", () => {
  it("echoes an allow-listed origin exactly, with Vary: Origin, never *", async () => {
    const origin = `http://localhost:${open.port}`
    const reply = await request(open.url, "GET", "/peers", { headers: { origin } })
    assert.strictEqual(reply.status, 200)
    assert.strictEqual(reply.headers["access-control-allow-origin"], origin)
    assert.match(String(reply.headers["vary"]), /Origin/)
    const plain = await request(open.url, "GET", "/peers")
    assert.strictEqual(plain.headers["access-control-allow-origin"], undefined)
  })

  it("refuses foreign and null origins, on requests, preflights and upgrades", async () => {
    for (
      const origin of [
        "http://evil.example",
        "null",
        `http://127.0.0.1:${open.port + 1}`,
        `https://127.0.0.1:${open.port}`
      ]
    ) {
      const reply = await request(open.url, "POST", "/broadcast", {
        body: { from_peer: "dashboard", text: "csrf" },
        headers: { origin }
      })
      assert.strictEqual(reply.status, 403, origin)
      assert.strictEqual(reply.headers["access-control-allow-origin"], undefined)
      const preflight = await request(open.url, "OPTIONS", "/ask", { headers: { origin } })
      assert.strictEqual(preflight.status, 403)
    }
    await new Promise<void>((resolve, reject) => {
      openSocket(open.url, { origin: "http://evil.example" }).then(
        () => reject(new Error("cross-site upgrade accepted")),
        () => resolve()
      )
    })
    const events = await request(open.url, "GET", "/events?since=0")
    assert.isFalse(events.text.includes("csrf"), "nothing was broadcast")
  })

  it("answers an allowed preflight", async () => {
    const origin = `http://127.0.0.1:${open.port}`
    const reply = await request(open.url, "OPTIONS", "/ask", { headers: { origin } })
    assert.strictEqual(reply.status, 204)
    assert.strictEqual(reply.headers["access-control-allow-origin"], origin)
    assert.match(String(reply.headers["access-control-allow-headers"]), /x-repowire-peer-token/)
  })
})

describe("daemon.auth_token", () => {
  it("guards every route but /health", async () => {
    assert.strictEqual((await request(locked.url, "GET", "/health")).status, 200)
    for (
      const [method, route] of [["GET", "/peers"], ["GET", "/events"], ["POST", "/ask"], ["GET", "/events/stream"]]
    ) {
      const reply = await request(locked.url, method!, route!, { body: method === "POST" ? {} : undefined })
      assert.strictEqual(reply.status, 401, route)
      assert.strictEqual(reply.body.error.code, "unauthorized")
    }
    const wrong = await request(locked.url, "GET", "/peers", { headers: { authorization: "Bearer nope" } })
    assert.strictEqual(wrong.status, 401)
    const right = await request(locked.url, "GET", "/peers", { headers: { authorization: `Bearer ${TOKEN}` } })
    assert.strictEqual(right.status, 200)
  })

  it("is required in the /ws connect frame (or as a Bearer header on the upgrade)", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` }
    const reply = await request(locked.url, "POST", "/peers", { body: { name: "w", backend: "codex" }, headers: auth })
    const peer = reply.body
    const without = await openSocket(locked.url)
    without.send({ type: "connect", peer_id: peer.peer_id, token: peer.token })
    assert.strictEqual((await without.closed).code, 4001)
    const withField = await connectAgent(locked.url, peer, { auth_token: TOKEN })
    withField.close()
    const viaHeader = await openSocket(locked.url, auth)
    viaHeader.send({ type: "connect", peer_id: peer.peer_id, token: peer.token })
    assert.strictEqual((await viaHeader.next("connected")).peer_id, peer.peer_id)
    viaHeader.close()
  })
})

describe("peer identity", () => {
  it("refuses a forged from_peer, a missing token and a stranger's token", async () => {
    const alice = await register(open.url, { name: "alice", backend: "codex", circle: "sec" })
    await register(open.url, { name: "bob", backend: "codex", circle: "sec" })
    const forged = await request(open.url, "POST", "/notify", {
      body: { from_peer: "bob", to_peer: "alice", text: "I am bob" },
      headers: as(alice)
    })
    assert.strictEqual(forged.status, 403)
    const anonymous = await request(open.url, "POST", "/notify", {
      body: { from_peer: "bob", to_peer: "alice", text: "I am bob" }
    })
    assert.strictEqual(anonymous.status, 401)
    const unknownToken = await request(open.url, "POST", "/notify", {
      body: { from_peer: "bob", to_peer: "alice", text: "I am bob" },
      headers: { "x-repowire-peer-token": "guess" }
    })
    assert.strictEqual(unknownToken.status, 401)
    const agentAsDashboard = await request(open.url, "POST", "/notify", {
      body: { from_peer: "dashboard", to_peer: "bob", text: "I am the human" },
      headers: as(alice)
    })
    assert.strictEqual(agentAsDashboard.status, 403)
  })

  it("a peer cannot change or remove another peer", async () => {
    const owner = await register(open.url, { name: "owner", backend: "codex", circle: "own" })
    const other = await register(open.url, { name: "other", backend: "codex", circle: "own" })
    const describe = await request(open.url, "POST", `/peers/${owner.peer_id}/description`, {
      body: { description: "hijacked" },
      headers: as(other)
    })
    assert.strictEqual(describe.status, 403)
    const remove = await request(open.url, "DELETE", `/peers/${owner.peer_id}`, { headers: as(other) })
    assert.strictEqual(remove.status, 403)
    const own = await request(open.url, "POST", `/peers/${owner.peer_id}/description`, {
      body: { description: "refactoring auth" },
      headers: as(owner)
    })
    assert.strictEqual(own.body.description, "refactoring auth")
  })
})
