import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import * as path from "node:path"
import { RelayRouter, type TunnelLink } from "../../src/services/RelayRouter.js"
import { RelaySessions } from "../../src/services/RelaySessions.js"
import {
  fakeApp,
  login,
  makeCert,
  mintKey,
  RelayServicesLayer,
  request,
  startRelay,
  tempDir,
  tunnelClient,
  waitConnected
} from "./harness.js"

/**
 * The relay's proxy path calls `RelaySessions.getNow` and `RelayRouter.findNow` on the spot
 * instead of running their effects in a fiber. On a SQLite file the session lookup is a
 * prepared statement, so the fast path answers; on an in-memory store (and PostgreSQL) only
 * the effect can. These tests hold both paths to the same answers.
 */

const cert = makeCert(tempDir("rw-cert-"))
const fileStore = () => path.join(tempDir("rw-relay-db-"), "relay.db")

const fakeLink = (userId: string, daemonId: string, open = true): TunnelLink => ({
  info: { userId, keyId: "k_test", daemonId },
  connectedAt: new Date().toISOString(),
  isOpen: open,
  activeStreams: 0,
  queuedBytes: 0,
  keepalive: () => undefined,
  goAway: () => undefined,
  close: () => undefined
})

describe("relay fast path: the Now steps answer as their effects do", () => {
  it.live("RelaySessions.getNow agrees with get for every kind of cookie value", () =>
    Effect.gen(function*() {
      const sessions = yield* RelaySessions
      const live = Redacted.value((yield* sessions.create("alice", "k_a", Duration.hours(1))).id)
      const chosen = Redacted.value((yield* sessions.create("alice", "k_a", Duration.hours(1))).id)
      yield* sessions.choose(chosen, "laptop")
      const removed = Redacted.value((yield* sessions.create("bob", "k_b", Duration.hours(1))).id)
      yield* sessions.remove(removed)
      const expired = Redacted.value((yield* sessions.create("bob", "k_b", Duration.millis(1))).id)
      yield* Effect.sleep("5 millis")
      const ids = [live, chosen, removed, "A".repeat(43), "", "short", `${live}x`, `${live.slice(0, 42)}!`]
      for (const id of ids) {
        const now = sessions.getNow(id, Date.now())
        assert.isDefined(now, id)
        assert.deepStrictEqual(now, yield* sessions.get(id), id)
      }
      assert.strictEqual(Option.getOrThrow(sessions.getNow(chosen, Date.now())!).daemon_id, "laptop")
      // An expired session is the effect's to remove: the step leaves it, `get` deletes it.
      assert.isUndefined(sessions.getNow(expired, Date.now()))
      assert.isTrue(Option.isNone(yield* sessions.get(expired)))
      assert.deepStrictEqual(sessions.getNow(expired, Date.now()), Option.none())
    }).pipe(Effect.provide(RelayServicesLayer(fileStore()))))

  it.live("on an in-memory store the step defers to the effect, except for what is no session id at all", () =>
    Effect.gen(function*() {
      const sessions = yield* RelaySessions
      const live = Redacted.value((yield* sessions.create("alice", "k_a", Duration.hours(1))).id)
      assert.isUndefined(sessions.getNow(live, Date.now()))
      assert.isTrue(Option.isSome(yield* sessions.get(live)))
      assert.deepStrictEqual(sessions.getNow("short", Date.now()), Option.none())
    }).pipe(Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("RelayRouter.findNow agrees with find", () =>
    Effect.gen(function*() {
      const router = yield* RelayRouter
      const open = fakeLink("alice", "laptop")
      yield* router.attach(open, 8)
      yield* router.attach(fakeLink("alice", "closed", false), 8)
      for (const [user, daemon] of [["alice", "laptop"], ["alice", "closed"], ["bob", "laptop"], ["alice", "none"]]) {
        assert.deepStrictEqual(router.findNow(user!, daemon!), yield* router.find(user!, daemon!), `${user}/${daemon}`)
      }
      assert.strictEqual(Option.getOrThrow(router.findNow("alice", "laptop")), open)
    }).pipe(Effect.provide(RelayServicesLayer(":memory:"))))

  /** The same browser requests to a relay, as status and body (the relay's own health varies and is left out). */
  const scenario = Effect.gen(function*() {
    const relay = yield* startRelay(cert)
    const key = yield* mintKey("alice")
    const daemon = yield* Layer.build(
      tunnelClient(fakeApp("A"), { url: relay.url, key, daemonId: "laptop", ca: cert.cert })
    )
    yield* waitConnected().pipe(Effect.provide(daemon))
    const { cookie } = yield* login(relay.url, cert.cert, key)
    const sessions = yield* RelaySessions
    const unchosen = Redacted.value((yield* sessions.create("alice", "k_x", Duration.hours(1))).id)
    const elsewhere = Redacted.value((yield* sessions.create("alice", "k_x", Duration.hours(1))).id)
    yield* sessions.choose(elsewhere, "desktop")
    // Made last: making a session removes the expired ones.
    const expired = Redacted.value((yield* sessions.create("alice", "k_x", Duration.millis(1))).id)
    yield* sessions.choose(expired, "laptop")
    yield* Effect.sleep("5 millis")
    const named = (id: string) => `__Host-rw_session=${id}`
    const asks: Array<[string, string, Record<string, string>]> = [
      ["GET", "/peers", {}],
      ["GET", "/peers", { accept: "text/html" }],
      ["GET", "/health", { cookie }],
      ["GET", "/peers?all=true", { cookie, "x-extra": "1" }],
      ["GET", "/attachments/70000", { cookie }],
      ["GET", "/mcp", { cookie }],
      ["POST", "/ask", { cookie, origin: "https://evil.example" }],
      ["GET", "/health", { cookie: named("A".repeat(43)) }],
      ["GET", "/health", { cookie: named("bogus") }],
      ["GET", "/health", { cookie: named(unchosen) }],
      ["GET", "/health", { cookie: named(expired) }],
      ["GET", "/health", { cookie: named(expired) }],
      ["GET", "/health", { cookie: named(elsewhere) }],
      ["GET", "/health", { cookie: `other=1; ${cookie}; more=2` }]
    ]
    const answers: Array<string> = []
    for (const [method, route, headers] of asks) {
      const reply = yield* request(`${relay.url}${route}`, cert.cert, { method, headers })
      const body = reply.headers["content-type"]?.includes("json") === true
        ? JSON.stringify(JSON.parse(reply.body), (k, v) => (k === "host" ? "(port)" : v))
        : `${reply.body.length} bytes`
      const shown = [[cookie, "(signed in)"], [unchosen, "(no daemon chosen)"], [expired, "(expired)"], [
        elsewhere,
        "(daemon not connected)"
      ]].reduce((text, [value, label]) => text.replace(value!, label!), JSON.stringify(headers))
      answers.push(`${method} ${route} ${shown} -> ${reply.status} ${body}`)
    }
    return answers
  }).pipe(Effect.scoped)

  it.live(
    "a relay whose sessions are read on the spot answers every request as one that reads them in a fiber",
    () =>
      Effect.gen(function*() {
        const fast = yield* scenario.pipe(Effect.provide(RelayServicesLayer(fileStore())))
        const slow = yield* scenario.pipe(Effect.provide(RelayServicesLayer(":memory:")))
        assert.deepStrictEqual(fast, slow)
        assert.include(fast[2]!, "-> 200 {\"daemon\":\"A\",\"tunnelled\":true}")
        assert.include(fast[10]!, "-> 401")
      }),
    30_000
  )
})
