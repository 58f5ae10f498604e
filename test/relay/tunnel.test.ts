import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as https from "node:https"
import WebSocket from "ws"
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

const cert = makeCert(tempDir("rw-cert-"))

const withRelayAndDaemon = <A, E, R>(
  body: (ctx: { base: string; key: string }) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const relay = yield* startRelay(cert)
    const key = yield* mintKey("alice")
    const daemon = yield* Layer.build(
      tunnelClient(fakeApp("A"), { url: relay.url, key, daemonId: "laptop", ca: cert.cert })
    )
    yield* waitConnected().pipe(Effect.provide(daemon))
    return yield* body({ base: relay.url, key })
  }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:")))

describe("relay + daemon tunnel", () => {
  it.live("login sets a safe cookie and a tunnelled API call reaches the daemon marked tunnelled", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie, reply, setCookie } = yield* login(base, cert.cert, key)
        assert.strictEqual(reply.status, 303)
        assert.strictEqual(reply.headers.location, "/dashboard")
        assert.match(setCookie, /^__Host-rw_session=[A-Za-z0-9_-]{43};/)
        for (const flag of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age="]) {
          assert.include(setCookie, flag)
        }
        assert.notInclude(setCookie, key)
        const peers = yield* request(`${base}/peers`, cert.cert, {
          headers: { cookie, authorization: "Bearer x", "x-forwarded-for": "6.6.6.6", accept: "application/json" }
        })
        assert.strictEqual(peers.status, 200)
        const body = JSON.parse(peers.body) as { daemon: string; tunnelled: boolean; headers: Record<string, string> }
        assert.strictEqual(body.daemon, "A")
        assert.isTrue(body.tunnelled)
        assert.isUndefined(body.headers.cookie)
        assert.isUndefined(body.headers.authorization)
        assert.isUndefined(body.headers["x-forwarded-for"])
        assert.strictEqual(body.headers.host, "127.0.0.1")
        const repeated = yield* Effect.async<Record<string, string>, Error>((resume) => {
          const req = https.get(`${base}/peers`, {
            headers: { cookie, "x-repeat": ["one", "two"] },
            ca: cert.cert,
            agent: false
          }, (res) => {
            let text = ""
            res.on("data", (c) => (text += c))
            res.on(
              "end",
              () => resume(Effect.succeed((JSON.parse(text) as { headers: Record<string, string> }).headers))
            )
          })
          req.on("error", (e) => resume(Effect.fail(e)))
        })
        // Both lines cross the tunnel; the daemon's request joins them as HTTP says (RFC 9110 5.3).
        assert.strictEqual(repeated["x-repeat"], "one, two")
      })
    ))

  it.live("login errors are inline: missing key, wrong key, no daemon", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const idle = yield* mintKey("bob")
      const form = (body: string) =>
        request(`${relay.url}/auth`, cert.cert, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: relay.url },
          body
        })
      const missing = yield* form("key=")
      assert.strictEqual(missing.status, 400)
      assert.include(missing.body, "Enter your relay key")
      const wrong = yield* form(`key=rw_${"x".repeat(43)}`)
      assert.strictEqual(wrong.status, 401)
      assert.include(wrong.body, "not valid")
      const none = yield* form(`key=${idle}`)
      assert.strictEqual(none.status, 409)
      assert.include(none.body, "no daemon is connected")
      const crossSite = yield* request(`${relay.url}/auth`, cert.cert, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
        body: `key=${idle}`
      })
      assert.strictEqual(crossSite.status, 403)
      const landing = yield* request(`${relay.url}/`, cert.cert)
      assert.include(landing.body, "<form method=\"post\" action=\"/auth\">")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("/auth is rate limited per client", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert, { authRate: { max: 3, windowMs: 60_000 } })
      const statuses: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const r = yield* request(`${relay.url}/auth`, cert.cert, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `key=rw_${"y".repeat(43)}`
        })
        statuses.push(r.status)
      }
      assert.deepStrictEqual(statuses, [401, 401, 401, 429, 429])
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("routes off the allow-list are refused at the relay; no session means no tunnel", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie } = yield* login(base, cert.cert, key)
        for (
          const [method, path] of [
            ["POST", "/mcp"],
            ["GET", "/ws"],
            ["DELETE", "/peers/x"],
            ["GET", "/config"],
            ["GET", "/dashboard/../mcp"],
            ["GET", "/%2e%2e/mcp"],
            ["POST", "/relay/reconnect"]
          ] as const
        ) {
          const r = yield* request(`${base}${path}`, cert.cert, { method, headers: { cookie, origin: base } })
          assert.strictEqual(r.status, 404, `${method} ${path}`)
        }
        const anonymous = yield* request(`${base}/peers`, cert.cert)
        assert.strictEqual(anonymous.status, 401)
        const crossSite = yield* request(`${base}/ask`, cert.cert, {
          method: "POST",
          headers: { cookie, origin: "https://evil.example" },
          body: "{}"
        })
        assert.strictEqual(crossSite.status, 403)
      })
    ))

  it.live("an SSE stream's first event arrives at once, unbuffered", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie } = yield* login(base, cert.cert, key)
        const started = Date.now()
        const first = yield* Effect.async<{ contentType: string; chunk: string }, Error>((resume) => {
          const req = https.get(
            `${base}/events/stream`,
            { headers: { cookie }, ca: cert.cert, agent: false },
            (res) => {
              res.once("data", (c: Buffer) => {
                resume(Effect.succeed({ contentType: String(res.headers["content-type"]), chunk: c.toString() }))
                req.destroy()
              })
            }
          )
          req.on("error", () => undefined)
        })
        assert.include(first.contentType, "text/event-stream")
        assert.include(first.chunk, "data: {\"daemon\":\"A\"}")
        assert.isBelow(Date.now() - started, 1000)
      })
    ))

  it.live("a browser WebSocket is bridged to the daemon's app", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie } = yield* login(base, cert.cert, key)
        const messages = yield* Effect.async<Array<string>, Error>((resume) => {
          const got: Array<string> = []
          const ws = new WebSocket(`${base.replace("https", "wss")}/events/ws`, {
            headers: { cookie, origin: base },
            ca: cert.cert
          })
          ws.on("message", (data) => {
            got.push(data.toString())
            if (got.length === 1) ws.send("ping-1")
            if (got.length === 2) ws.close(1000)
          })
          ws.on("close", () => resume(Effect.succeed(got)))
          ws.on("error", (e) => resume(Effect.fail(e)))
        })
        assert.deepStrictEqual(messages, [JSON.stringify({ daemon: "A", hello: true }), "echo:ping-1"])
        const refused = yield* Effect.async<number, Error>((resume) => {
          const ws = new WebSocket(`${base.replace("https", "wss")}/events/ws`, {
            headers: { cookie, origin: "https://evil.example" },
            ca: cert.cert
          })
          ws.on("unexpected-response", (_req, res) => resume(Effect.succeed(res.statusCode ?? 0)))
          ws.on("error", () => undefined)
        })
        assert.strictEqual(refused, 403)
      })
    ))

  it.live("WebSocket traffic in bulk flows both ways under credit (100 x 100 KiB echoed)", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie } = yield* login(base, cert.cert, key)
        const echoed = yield* Effect.async<number, Error>((resume) => {
          const ws = new WebSocket(`${base.replace("https", "wss")}/events/ws`, {
            headers: { cookie, origin: base },
            ca: cert.cert
          })
          let bytes = 0
          let count = 0
          ws.on("message", (data: Buffer, isBinary) => {
            if (!isBinary) {
              for (let i = 0; i < 100; i++) ws.send(Buffer.alloc(100 * 1024, i))
              return
            }
            bytes += data.length
            if (++count === 100) {
              ws.close()
              resume(Effect.succeed(bytes))
            }
          })
          ws.on("error", (e) => resume(Effect.fail(e)))
        }).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(echoed, 100 * 100 * 1024)
      })
    ))

  it.live("logout ends the session", () =>
    withRelayAndDaemon(({ base, key }) =>
      Effect.gen(function*() {
        const { cookie } = yield* login(base, cert.cert, key)
        const out = yield* request(`${base}/logout`, cert.cert, { method: "POST", headers: { cookie, origin: base } })
        assert.strictEqual(out.status, 303)
        assert.include(String(out.headers["set-cookie"]), "Max-Age=0")
        const after = yield* request(`${base}/peers`, cert.cert, { headers: { cookie } })
        assert.strictEqual(after.status, 401)
      })
    ))
})
