import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { openSocket } from "../support/Agent.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, asHuman, dashboardSession, register, type Registered, request } from "../support/Http.js"

const TOKEN = "s3cret-token-for-tests-0123456789"
const bearer = { authorization: `Bearer ${TOKEN}` }

let daemon: TestDaemon
let locked: TestDaemon
let alice: Registered
let bob: Registered
beforeAll(async () => {
  daemon = await startDaemon()
  locked = await startDaemon({ daemon: { auth_token: TOKEN } })
  alice = await register(daemon.url, { name: "alice", backend: "codex", circle: "a" })
  bob = await register(daemon.url, { name: "bob", backend: "codex", circle: "b" })
})
afterAll(async () => {
  await daemon.close()
  await locked.close()
})

const snapshot = async (d: TestDaemon, headers: Record<string, string> = {}) => ({
  peers: JSON.stringify((await request(d.url, "GET", "/peers?all=true", { headers })).body.peers),
  events: (await request(d.url, "GET", "/events?since=0&limit=5000", { headers })).body.events.length
})

describe("nobody becomes the human by saying so", () => {
  it("an Origin header with no token does not make a local program the dashboard", async () => {
    const before = await snapshot(daemon)
    const origin = { origin: daemon.url }
    const sends = [
      ["/notify", { from_peer: "dashboard", to_peer: "bob", text: "from the human?" }],
      ["/ask", { from_peer: "dashboard", to_peer: "alice", text: "drop the table?" }],
      ["/broadcast", { from_peer: "dashboard", text: "everyone" }]
    ] as const
    for (const [route, body] of sends) {
      const reply = await request(daemon.url, "POST", route, { body, headers: origin })
      assert.strictEqual(reply.status, 401, `${route}: ${reply.text}`)
    }
    const removed = await request(daemon.url, "DELETE", `/peers/${bob.peer_id}`, { headers: origin })
    assert.strictEqual(removed.status, 401)
    const moved = await request(daemon.url, "POST", `/peers/${alice.peer_id}/circle`, {
      body: { circle: "b" },
      headers: origin
    })
    assert.strictEqual(moved.status, 401)
    assert.deepStrictEqual(await snapshot(daemon), before)
  })

  it("self-registration makes agents only: human, service, cli and dashboard need a credential", async () => {
    const before = await snapshot(daemon)
    for (
      const body of [
        { name: "mallory", backend: "codex", role: "human" },
        { name: "mallory", backend: "codex", role: "service" },
        { name: "mallory", backend: "cli" },
        { name: "mallory", backend: "dashboard" }
      ]
    ) {
      const reply = await request(daemon.url, "POST", "/peers", { body })
      assert.strictEqual(reply.status, 403, JSON.stringify(body))
      assert.strictEqual(reply.body.error.code, "forbidden")
      const wrong = await request(daemon.url, "POST", "/peers", {
        body,
        headers: { "x-repowire-human-credential": "guess" }
      })
      assert.strictEqual(wrong.status, 403)
    }
    // Resuming one's own agent peer cannot upgrade it either.
    const upgrade = await request(daemon.url, "POST", "/peers", {
      body: { name: "alice", backend: "codex", circle: "a", role: "human", peer_id: alice.peer_id },
      headers: as(alice)
    })
    assert.strictEqual(upgrade.status, 403)
    assert.deepStrictEqual(await snapshot(daemon), before)
  })

  it("an agent cannot remove or change another peer; a human can", async () => {
    const victim = await register(daemon.url, { name: "victim", backend: "codex", circle: "a" })
    const byAgent = await request(daemon.url, "DELETE", `/peers/${victim.peer_id}`, { headers: as(alice) })
    assert.strictEqual(byAgent.status, 403)
    const describe = await request(daemon.url, "POST", `/peers/${victim.peer_id}/description`, {
      body: { description: "pwned" },
      headers: as(alice)
    })
    assert.strictEqual(describe.status, 403)
    const human = await register(daemon.url, { name: "hank", backend: "cli" }, asHuman(daemon.home))
    const byHuman = await request(daemon.url, "DELETE", `/peers/${victim.peer_id}`, { headers: as(human) })
    assert.strictEqual(byHuman.status, 200)
  })

  it("the dashboard page's session cookie is what makes the dashboard, and a forged one does not", async () => {
    const session = await dashboardSession(daemon.url)
    const sent = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "dashboard", to_peer: "bob", text: "hello from the page" },
      headers: session
    })
    assert.strictEqual(sent.status, 200, sent.text)
    const forged = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "dashboard", to_peer: "bob", text: "forged" },
      headers: { ...session, cookie: session.cookie!.replace(/=.*/, "=forged") }
    })
    assert.strictEqual(forged.status, 401)
  })

  it("the human credential file is 0600 and only the auth token or it registers a human on a locked daemon", async () => {
    const mode = fs.statSync(path.join(daemon.home, "human.token")).mode & 0o777
    assert.strictEqual(mode, 0o600)
    const asCli = { name: "ops", backend: "cli" }
    assert.strictEqual((await request(locked.url, "POST", "/peers", { body: asCli, headers: bearer })).status, 403)
    const withToken = await request(locked.url, "POST", "/peers", {
      body: asCli,
      headers: { ...bearer, "x-repowire-human-credential": TOKEN }
    })
    assert.strictEqual(withToken.status, 201)
    const withFile = await request(locked.url, "POST", "/peers", {
      body: { ...asCli, name: "ops2" },
      headers: { ...bearer, ...asHuman(locked.home) }
    })
    assert.strictEqual(withFile.status, 201)
  })
})

describe("wrong auth tokens are rate limited per client", () => {
  it("after 20 wrong tokens in a minute, every way in answers 429 unchecked, and the daemon serves on", async () => {
    const d = await startDaemon({ daemon: { auth_token: TOKEN } })
    try {
      const statuses: Array<number> = []
      for (let i = 0; i < 25; i++) {
        statuses.push(
          (await request(d.url, "GET", "/peers", { headers: { authorization: `Bearer wrong-${i}` } })).status
        )
      }
      assert.deepStrictEqual(statuses.slice(0, 20), Array(20).fill(401))
      assert.deepStrictEqual(statuses.slice(20), Array(5).fill(429))
      // Even the right token is refused unchecked while the client is over its budget.
      assert.strictEqual((await request(d.url, "GET", "/peers", { headers: bearer })).status, 429)
      const socket = await openSocket(d.url)
      socket.send({ type: "connect", peer_id: "peer-0123456789abcdef", token: "t", auth_token: "wrong" })
      assert.match((await socket.closed).reason, /too many wrong auth tokens/)
      const login = await request(d.url, "POST", "/dashboard/login", {
        raw: "token=wrong",
        headers: { "content-type": "application/x-www-form-urlencoded" }
      })
      assert.strictEqual(login.status, 429)
      assert.strictEqual((await request(d.url, "GET", "/health")).status, 200)
    } finally {
      await d.close()
    }
  })
})
