import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as https from "node:https"
import WebSocket from "ws"
import { updateConfigFile } from "../../src/layers/ConfigLive.js"
import { enableRelay, rotateKey } from "../../src/programs/relay/Enable.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { asHuman, register, request as local } from "../support/Http.js"
import { login, makeCert, mintKey, RelayServicesLayer, request, startRelay, tempDir } from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

/** The real daemon (port 0, temp home) with its relay link on: the plain tunnel (relay.e2e: off) these tests cover. */
const daemon = (url: string, key: string, daemonId = "laptop") =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      // config.yaml on disk too: POST /relay/reconnect re-reads it.
      const home = tempDir("rw-home-")
      yield* updateConfigFile(resolvePaths({ REPOWIRE_HOME: home }), [
        { keyPath: ["relay"], value: { enabled: true, url, api_key: key, daemon_id: daemonId, e2e: "off" } }
      ]).pipe(Effect.orDie)
      return yield* Effect.promise(() =>
        startDaemon({ relay: { enabled: true, url, api_key: key, daemon_id: daemonId, e2e: "off" } }, home)
      )
    }),
    (d) => Effect.promise(() => d.close())
  )

const health = (d: TestDaemon) =>
  Effect.promise(() => local(d.url, "GET", "/health", { headers: { host: `127.0.0.1:${d.port}` } }))

const untilRelay = (d: TestDaemon, status: string, timeoutMs = 5000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const h = yield* health(d)
      if (h.body?.relay?.status === status) return h.body.relay
      if (Date.now() > deadline) return yield* Effect.dieMessage(`relay status ${JSON.stringify(h.body?.relay)}`)
      yield* Effect.sleep("25 millis")
    }
  })

/** Collects SSE text through the relay until `done` says so. */
const sseUntil = (url: string, cookie: string, done: (text: string) => boolean) =>
  Effect.async<string, Error>((resume) => {
    let text = ""
    const req = https.get(
      url,
      { headers: { cookie, accept: "text/event-stream" }, ca: cert.cert, agent: false },
      (res) => {
        res.on("data", (c: Buffer) => {
          text += c.toString()
          if (done(text)) {
            resume(Effect.succeed(text))
            req.destroy()
          }
        })
      }
    )
    req.on("error", () => undefined)
    return Effect.sync(() => req.destroy())
  })

describe("relay + the real daemon", () => {
  it.live(
    "health reports the link, and the dashboard's API, SSE and WebSocket work through the relay",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        const d = yield* daemon(relay.url, key)
        const status = yield* untilRelay(d, "connected")
        assert.strictEqual(status.url, relay.url)
        assert.isNotNull(status.last_connected_at)
        assert.isNull(status.last_error)

        const { cookie } = yield* login(relay.url, cert.cert, key)
        const peers = yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })
        assert.strictEqual(peers.status, 200)
        assert.isArray(JSON.parse(peers.body).peers)
        const viaRelayHealth = yield* request(`${relay.url}/health`, cert.cert, { headers: { cookie } })
        assert.strictEqual(JSON.parse(viaRelayHealth.body).relay.status, "connected")

        // SSE: the first bytes arrive at once, and a new event follows live.
        const started = Date.now()
        const first = yield* sseUntil(`${relay.url}/events/stream`, cookie, (t) => t.includes(": connected"))
        assert.isBelow(Date.now() - started, 1000)
        assert.include(first, ": connected")
        const live = yield* Effect.fork(
          sseUntil(`${relay.url}/events/stream?since=0`, cookie, (t) => t.includes("relay-agent"))
        )
        yield* Effect.sleep("100 millis")
        const agent = yield* Effect.promise(() =>
          register(d.url, { name: "relay-agent", backend: "cli", path: "/tmp/x" }, asHuman(d.home))
        )
        assert.include(yield* live.await.pipe(Effect.flatten, Effect.timeout("3 seconds")), "relay-agent")

        // The dashboard acts as itself through the relay.
        const sent = yield* request(`${relay.url}/notify`, cert.cert, {
          method: "POST",
          headers: { cookie, origin: relay.url, "content-type": "application/json" },
          body: JSON.stringify({ from_peer: "dashboard", to_peer: agent.peer_id, text: "hello from the browser" })
        })
        assert.strictEqual(sent.status, 200, sent.body)

        // The live WebSocket stream of events, bridged.
        const wsText = yield* Effect.async<string, Error>((resume) => {
          const ws = new WebSocket(`${relay.url.replace("https", "wss")}/events/ws?since=0`, {
            headers: { cookie, origin: relay.url },
            ca: cert.cert
          })
          let all = ""
          ws.on("message", (m) => {
            all += m.toString()
            if (all.includes("hello from the browser")) {
              ws.close()
              resume(Effect.succeed(all))
            }
          })
          ws.on("error", (e) => resume(Effect.fail(e)))
        }).pipe(Effect.timeout("3 seconds"))
        assert.include(wsText, "relay-agent")
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "agent transports, MCP, peer removal and local-only routes never cross the tunnel",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("bob")
        const d = yield* daemon(relay.url, key)
        yield* untilRelay(d, "connected")
        const { cookie } = yield* login(relay.url, cert.cert, key)
        for (
          const [method, path] of [
            ["POST", "/mcp"],
            ["GET", "/ws"],
            ["DELETE", "/peers/x"],
            ["POST", "/relay/reconnect"],
            ["POST", "/events/chat"],
            ["GET", "/deliveries?peer=x"],
            ["POST", "/schedules"]
          ] as const
        ) {
          const r = yield* request(`${relay.url}${path}`, cert.cert, { method, headers: { cookie, origin: relay.url } })
          assert.strictEqual(r.status, 404, `${method} ${path}`)
        }
        // Starting and stopping agents reach the daemon, which refuses them with no rule allowing it.
        for (const path of ["/spawn", "/peers/x/kill"]) {
          const r = yield* request(`${relay.url}${path}`, cert.cert, {
            method: "POST",
            headers: { cookie, origin: relay.url, "content-type": "application/json" },
            body: JSON.stringify({ path: "/tmp", backend: "codex" })
          })
          assert.strictEqual(r.status, 403, `POST ${path}: ${r.body}`)
          assert.strictEqual(JSON.parse(r.body).error.code, "spawn_refused")
        }
        // The local-only reconnect route works from the machine itself.
        const again = yield* Effect.promise(() =>
          local(d.url, "POST", "/relay/reconnect", { headers: { host: `127.0.0.1:${d.port}` } })
        )
        assert.strictEqual(again.status, 200)
        yield* untilRelay(d, "connected")
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live("events never cross users: B's browser sees only B's daemon", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const a = yield* daemon(relay.url, yield* mintKey("alice"))
      const bKey = yield* mintKey("bob")
      const b = yield* daemon(relay.url, bKey)
      yield* untilRelay(a, "connected")
      yield* untilRelay(b, "connected")
      const { cookie } = yield* login(relay.url, cert.cert, bKey)
      const seen = yield* Effect.fork(
        sseUntil(`${relay.url}/events/stream?since=0`, cookie, (t) => t.includes("marker-b"))
      )
      yield* Effect.sleep("100 millis")
      yield* Effect.promise(() => register(a.url, { name: "secret-of-a", backend: "cli", path: "/a" }, asHuman(a.home)))
      yield* Effect.promise(() => register(b.url, { name: "marker-b", backend: "cli", path: "/b" }, asHuman(b.home)))
      const text = yield* seen.await.pipe(Effect.flatten, Effect.timeout("3 seconds"))
      assert.include(text, "marker-b")
      assert.notInclude(text, "secret-of-a")
      const peers = JSON.parse((yield* request(`${relay.url}/peers?all=true`, cert.cert, { headers: { cookie } })).body)
      assert.notInclude(JSON.stringify(peers), "secret-of-a")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 30_000)

  it.live(
    "the daemon's health tells the truth when the relay refuses its key or goes away",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const d = yield* daemon(relay.url, `rw_${"z".repeat(43)}`)
        const refused = yield* untilRelay(d, "down")
        assert.include(refused.last_error, "401")
        const off = yield* Effect.acquireRelease(
          Effect.promise(() => startDaemon({})),
          (x) => Effect.promise(() => x.close())
        )
        assert.strictEqual((yield* health(off)).body.relay.status, "disabled")
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "setup --relay then rotate-key: register, connect, rotate, and the running daemon follows",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const home = tempDir("rw-home-")
        const d = yield* Effect.acquireRelease(
          Effect.promise(() => startDaemon({ relay: { e2e: "off" } }, home)),
          (x) => Effect.promise(() => x.close())
        )
        assert.strictEqual((yield* health(d)).body.relay.status, "disabled")
        const env = { REPOWIRE_HOME: home }
        const enabled = yield* enableRelay({ url: relay.url, ca: cert.cert, env })
        assert.isTrue(enabled.daemon_notified)
        yield* untilRelay(d, "connected")
        const paths = resolvePaths(env)
        const keyOf = () => fs.readFileSync(paths.configFile, "utf8").match(/api_key: (rw_\S+)/)![1]!
        const first = keyOf()
        assert.strictEqual(fs.statSync(paths.configFile).mode & 0o777, 0o600)
        const session = yield* login(relay.url, cert.cert, first)
        assert.strictEqual(session.reply.status, 303)

        const rotated = yield* rotateKey({ ca: cert.cert, env })
        assert.isTrue(rotated.daemon_notified)
        const second = keyOf()
        assert.notStrictEqual(second, first)
        yield* untilRelay(d, "connected")
        assert.strictEqual(
          (yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie: session.cookie } })).status,
          401
        )
        assert.strictEqual((yield* login(relay.url, cert.cert, first)).reply.status, 401)
        const fresh = yield* login(relay.url, cert.cert, second)
        assert.strictEqual(fresh.reply.status, 303)
        assert.strictEqual(
          (yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie: fresh.cookie } })).status,
          200
        )
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})
