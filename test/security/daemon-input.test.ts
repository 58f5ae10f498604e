import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { openSocket } from "../support/Agent.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { register, type Registered, request } from "../support/Http.js"

const TOKEN = "s3cret-token-for-tests-0123456789"
const bearer = { authorization: `Bearer ${TOKEN}` }

/** `inner` wrapped in `depth` arrays: a few KB that overflowed the stack of every error formatter. */
const nested = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth)
const DEEP = nested(3000)

let open: TestDaemon
let appOnly: TestDaemon
let locked: TestDaemon
let alice: Registered
let lockedAlice: Registered
beforeAll(async () => {
  open = await startDaemon()
  appOnly = await startDaemon({}, undefined, { directRoutes: false })
  locked = await startDaemon({ daemon: { auth_token: TOKEN, mcp_http: { enabled: true } } })
  alice = await register(open.url, { name: "alice", backend: "codex", circle: "sec" })
  await register(open.url, { name: "bob", backend: "codex", circle: "sec" })
  await register(appOnly.url, { name: "bob", backend: "codex", circle: "sec" })
  lockedAlice = await register(locked.url, { name: "alice", backend: "codex", circle: "sec" }, bearer)
})
afterAll(async () => {
  await open.close()
  await appOnly.close()
  await locked.close()
})

/** What a probe could have changed: the peers and the event log. */
const snapshot = async (d: TestDaemon, headers: Record<string, string> = {}) => ({
  peers: (await request(d.url, "GET", "/peers?all=true", { headers })).body.peers.length,
  events: (await request(d.url, "GET", "/events?since=0&limit=5000", { headers })).body.events.length
})

const stillServing = async (d: TestDaemon) => {
  const health = await request(d.url, "GET", "/health")
  assert.strictEqual(health.status, 200)
  assert.strictEqual(health.body.ok, true)
}

const MESSAGE_ROUTES: ReadonlyArray<[string, (deep: string) => string]> = [
  ["/ask", (deep) => `{"from_peer":${deep},"to_peer":"bob","text":"x"}`],
  ["/notify", (deep) => `{"from_peer":"alice","to_peer":"bob","text":${deep}}`],
  ["/ack", (deep) => `{"correlation_id":${deep}}`],
  ["/broadcast", (deep) => `{"from_peer":"alice","text":"x","attachments":${deep}}`]
]

describe("deeply nested JSON is refused before any decoder walks it", () => {
  it("a /ws connect frame nested 3,000 deep closes that socket with 4000; the daemon serves on", async () => {
    for (const d of [open, locked]) {
      const before = await snapshot(d, bearer)
      const socket = await openSocket(d.url)
      socket.send(`{"type":"connect","peer_id":${DEEP},"token":"x"}`)
      const closed = await socket.closed
      assert.strictEqual(closed.code, 4000)
      assert.match(closed.reason, /nested deeper than 64/)
      await stillServing(d)
      assert.deepStrictEqual(await snapshot(d, bearer), before)
    }
  })

  it("the agents' message routes answer 400 on the fast path, with any peer token, even with an auth token set", async () => {
    for (
      const [d, token, headers] of [[open, alice.token, {}], [locked, lockedAlice.token, bearer], [
        locked,
        "nobody",
        bearer
      ]] as const
    ) {
      const before = await snapshot(d, bearer)
      for (const [route, body] of MESSAGE_ROUTES) {
        const reply = await request(d.url, "POST", route, {
          raw: body(DEEP),
          headers: { "content-type": "application/json", "x-repowire-peer-token": token, ...headers }
        })
        assert.strictEqual(reply.status, 400, `${route}: ${reply.text.slice(0, 200)}`)
        assert.strictEqual(reply.body.error.code, "invalid_request")
        assert.match(reply.body.error.message, /nested deeper than 64/)
      }
      await stillServing(d)
      assert.deepStrictEqual(await snapshot(d, bearer), before)
    }
  })

  it("the HTTP app answers 400 too: without the fast path, chunked, and on /peers", async () => {
    const before = await snapshot(appOnly)
    for (const [route, body] of MESSAGE_ROUTES) {
      for (const chunked of [false, true]) {
        const reply = await request(appOnly.url, "POST", route, {
          raw: body(DEEP),
          chunked,
          headers: { "content-type": "application/json", "x-repowire-peer-token": "whoever" }
        })
        assert.strictEqual(reply.status, 400, `${route} chunked=${chunked}: ${reply.text.slice(0, 200)}`)
        assert.strictEqual(reply.body.error.code, "invalid_request")
      }
    }
    const peer = await request(appOnly.url, "POST", "/peers", {
      raw: `{"name":"deep","backend":"codex","metadata":{"x":${DEEP}}}`
    })
    assert.strictEqual(peer.status, 400, peer.text.slice(0, 200))
    await stillServing(appOnly)
    assert.deepStrictEqual(await snapshot(appOnly), before)
  })

  it("/mcp answers 400 to a nested JSON-RPC body", async () => {
    const reply = await request(locked.url, "POST", "/mcp", {
      raw: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":${DEEP}}}`,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...bearer }
    })
    assert.strictEqual(reply.status, 400, reply.text.slice(0, 200))
    assert.strictEqual(reply.body.error.code, "invalid_request")
    await stillServing(locked)
  })

  it("nesting up to the bound is decoded as before", async () => {
    const reply = await request(open.url, "POST", "/notify", {
      raw: `{"from_peer":"alice","to_peer":"bob","text":${nested(60, "\"x\"")}}`,
      headers: { "content-type": "application/json", "x-repowire-peer-token": alice.token }
    })
    assert.strictEqual(reply.status, 400)
    assert.match(reply.body.error.message, /^text: Expected string/)
  })
})

describe("huge values get a bounded answer", () => {
  it("a 100,000-element array and a 900 KB string in a field: 400 with a one-line message", async () => {
    const before = await snapshot(open)
    const array = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i))
    for (
      const raw of [
        `{"from_peer":${array},"to_peer":"bob","text":"x"}`,
        `{"from_peer":"alice","to_peer":${JSON.stringify("y".repeat(900_000))},"text":1}`
      ]
    ) {
      for (const d of [open, appOnly]) {
        const reply = await request(d.url, "POST", "/notify", {
          raw,
          headers: { "content-type": "application/json", "x-repowire-peer-token": alice.token }
        })
        assert.strictEqual(reply.status, 400, reply.text.slice(0, 200))
        assert.isAtMost(reply.body.error.message.length, 300)
      }
    }
    await stillServing(open)
    assert.deepStrictEqual(await snapshot(open), before)
  })
})

/** Any JSON value, with deep nesting, long strings and big arrays among them. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.json({ depthSize: "large", maxDepth: 12 }),
  fc.integer({ min: 60, max: 5000 }).map((depth) => nested(depth)),
  fc.integer({ min: 60, max: 5000 }).map((depth) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)),
  fc.string({ minLength: 1000, maxLength: 20_000 }).map((s) => JSON.stringify({ from_peer: s, to_peer: s, text: s })),
  fc.array(fc.integer(), { minLength: 1000, maxLength: 20_000 }).map((a) => JSON.stringify({ text: a })),
  fc.string({ maxLength: 200 })
)

describe("fuzzing every way in over real sockets", () => {
  it("message routes, /peers and /events/chat never answer 500 and never change state", async () => {
    const before = await snapshot(open)
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/ask", "/notify", "/ack", "/broadcast", "/peers", "/events/chat"),
        fc.boolean(),
        hostile,
        async (route, withToken, raw) => {
          const reply = await request(open.url, "POST", route, {
            raw,
            headers: {
              "content-type": "application/json",
              ...(withToken ? { "x-repowire-peer-token": alice.token } : {})
            }
          })
          // A fuzzed /peers body can be a valid registration; every other answer is a typed refusal.
          if (reply.status === 201 && route === "/peers") return
          assert.include(
            [400, 401, 403, 404, 409, 413],
            reply.status,
            `${route} ${raw.slice(0, 80)} → ${reply.text.slice(0, 120)}`
          )
          assert.isString(reply.body.error.code)
        }
      ),
      { numRuns: 60 }
    )
    await stillServing(open)
    const after = await snapshot(open)
    assert.strictEqual(after.events - before.events, after.peers - before.peers, "only registrations were stored")
  })

  it("/ws frames never take the daemon down: every bad frame closes its own socket", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (raw) => {
        const socket = await openSocket(open.url)
        socket.send(raw)
        const closed = await socket.closed
        assert.include([4000, 4002, 4004, 4001], closed.code, raw.slice(0, 80))
      }),
      { numRuns: 40 }
    )
    await stillServing(open)
  })
})
