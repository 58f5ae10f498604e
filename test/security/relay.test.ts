import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Runtime, Scope } from "effect"
import * as fc from "fast-check"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as tls from "node:tls"
import WebSocket from "ws"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { RateLimitsLive } from "../../src/layers/RateLimitsLive.js"
import { RelayStoreLive } from "../../src/layers/RelayStoreLive.js"
import { TunnelClientLive } from "../../src/layers/TunnelClientLive.js"
import { encodeFrame, Frames, INITIAL_WINDOW, MAX_FRAME_PAYLOAD } from "../../src/protocol/TunnelFrame.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { RateLimits } from "../../src/services/RateLimits.js"
import {
  fakeApp,
  login,
  makeCert,
  mintKey,
  rawDaemon,
  RelayServicesLayer,
  request,
  startRelay,
  tempDir,
  waitConnected
} from "../relay/harness.js"

const cert = makeCert(tempDir("rw-cert-"))

/** Another user's real daemon: what must keep working whatever a hostile tunnel does. */
const bystander = (url: string) =>
  Effect.gen(function*() {
    const key = yield* mintKey("bystander")
    // Patient pings: floods run in this same process and may hold its event loop for a while.
    const ctx = yield* Layer.build(
      TunnelClientLive(fakeApp("B"), { ca: cert.cert, pingIntervalMs: 500, deadAfterMs: 15_000 }).pipe(
        Layer.provide(
          ConfigMemory(tempDir("rw-home-"), { relay: { enabled: true, url, api_key: key, daemon_id: "laptop" } })
        )
      )
    )
    yield* waitConnected().pipe(Effect.provide(ctx))
    const { cookie } = yield* login(url, cert.cert, key)
    return { cookie }
  })

/** The relay answers its health check and still tunnels the bystander's requests. */
const stillServing = (url: string, cookie: string) =>
  Effect.gen(function*() {
    const health = yield* request(`${url}/_relay/health`, cert.cert)
    assert.strictEqual(health.status, 200)
    const peers = yield* request(`${url}/peers`, cert.cert, { headers: { cookie } })
    assert.strictEqual(peers.status, 200)
    assert.strictEqual(JSON.parse(peers.body).daemon, "B")
    return JSON.parse(health.body) as { tunnels: number; streams: number; queued_bytes: number }
  })

const mib = new Uint8Array(MAX_FRAME_PAYLOAD).fill(120)

describe("relay hardening: bounded queues", () => {
  it.live(
    "WebSocket messages flooded before the browser is accepted end the tunnel with 4008 flow_control",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const browser = new WebSocket(`${relay.url.replace("https", "wss")}/events/ws`, {
          headers: { cookie, origin: relay.url },
          ca: cert.cert
        })
        browser.on("error", () => undefined)
        const open = yield* Effect.promise(() => daemon.nextOf("Open"))
        // Never a 101: every message waits at the relay for a browser that is never accepted.
        for (let i = 0; i < 64; i++) daemon.ws.send(encodeFrame(Frames.wsMessage(open.stream, mib, false)))
        const closed = yield* Effect.promise(() => daemon.closed).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(closed.code, 4008)
        assert.include(closed.reason, "flow_control")
        browser.terminate()
        const counts = yield* stillServing(relay.url, bystanderCookie)
        assert.strictEqual(counts.tunnels, 1)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a response body sent past the stream's credit to a browser that does not read ends the tunnel",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const req = https.get(
          `${relay.url}/attachments/x`,
          { headers: { cookie }, ca: cert.cert, agent: false },
          (res) => res.pause()
        )
        req.on("error", () => undefined)
        const open = yield* Effect.promise(() => daemon.nextOf("Open"))
        daemon.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [] })))
        for (let i = 0; i < 64; i++) daemon.ws.send(encodeFrame(Frames.data(open.stream, mib)))
        const closed = yield* Effect.promise(() => daemon.closed).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(closed.code, 4008)
        assert.include(closed.reason, "flow_control")
        req.destroy()
        yield* stillServing(relay.url, bystanderCookie)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "browsers that stop reading cost a tunnel at most its buffer: the fullest stream is reset, the tunnel stays",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { tunnelBufferBytes: 2 * 1024 * 1024 })
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const browsers = Array.from({ length: 4 }, (_, i) => {
          const req = https.get(
            `${relay.url}/attachments/${i}`,
            { headers: { cookie }, ca: cert.cert, agent: false },
            (res) => res.pause()
          )
          req.on("error", () => undefined)
          return req
        })
        // A daemon that keeps to its credit exactly: it sends what each Window frame grants.
        const chunk = new Uint8Array(256 * 1024).fill(100)
        const sendBytes = (stream: number, n: number) => {
          for (let left = n; left > 0; left -= chunk.length) {
            daemon.ws.send(encodeFrame(Frames.data(stream, chunk.subarray(0, Math.min(left, chunk.length)))))
          }
        }
        const shed = yield* Effect.promise(async () => {
          for (;;) {
            const f = await daemon.next()
            if (f._tag === "Open") {
              daemon.ws.send(encodeFrame(Frames.response(f.stream, { status: 200, headers: [] })))
              sendBytes(f.stream, INITIAL_WINDOW)
            } else if (f._tag === "Window") sendBytes(f.stream, f.increment)
            else if (f._tag === "Reset") return f
          }
        }).pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(shed.code, "flow_control")
        assert.include(shed.message, "not reading")
        assert.strictEqual(daemon.ws.readyState, WebSocket.OPEN)
        browsers.forEach((b) => b.destroy())
        const counts = yield* stillServing(relay.url, bystanderCookie)
        assert.strictEqual(counts.tunnels, 2)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a daemon that stops reading cannot make the relay queue the answers it provokes",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const socket = (daemon.ws as unknown as { _socket: { pause: () => void } })._socket
        socket.pause()
        // Each frame for an unknown stream asks for a Reset back, which this daemon never reads.
        const provoke = encodeFrame(Frames.data(7, new Uint8Array(0)))
        for (let batch = 0; batch < 100; batch++) {
          for (let i = 0; i < 2_000; i++) daemon.ws.send(provoke)
          // Small batches, so the bystander's pings (same process) are not starved.
          yield* Effect.sleep("5 millis")
        }
        yield* Effect.sleep("500 millis")
        const counts = yield* stillServing(relay.url, bystanderCookie)
        assert.strictEqual(counts.tunnels, 2)
        assert.isAtMost(counts.queued_bytes, 2 * 1024 * 1024)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

/** Bytes a keep-alive browser connection receives for one request, until the relay closes it or `ms` pass. */
const keepAliveExchange = (url: string, cookie: string, path: string, ms: number) =>
  Effect.async<{ text: string; closed: boolean }>((resume) => {
    const { hostname, port } = new URL(url)
    const socket = tls.connect({ host: hostname, port: Number(port), ca: cert.cert, servername: "localhost" }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncookie: ${cookie}\r\nconnection: keep-alive\r\n\r\n`
      )
    })
    const chunks: Array<Buffer> = []
    const timer = setTimeout(() => {
      socket.destroy()
      resume(Effect.succeed({ text: Buffer.concat(chunks).toString("latin1"), closed: false }))
    }, ms)
    socket.on("data", (c) => chunks.push(c))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ text: Buffer.concat(chunks).toString("latin1"), closed: true }))
    })
  })

describe("relay hardening: response framing", () => {
  it.live(
    "a body longer than its Content-Length is a reset: the surplus never reaches the browser's connection",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const exchange = yield* Effect.fork(keepAliveExchange(relay.url, cookie, "/peers", 3000))
        const open = yield* Effect.promise(() => daemon.nextOf("Open"))
        const smuggled =
          "HTTP/1.1 200 OK\r\nset-cookie: __Host-rw_session=evil; Path=/\r\ncontent-type: text/html\r\n" +
          "content-length: 20\r\n\r\n<script>evil</script>"
        daemon.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [["content-length", "5"]] })))
        daemon.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode(`hello${smuggled}`), true)))
        const reset = yield* Effect.promise(() => daemon.nextOf("Reset")).pipe(Effect.timeout("3 seconds"))
        assert.strictEqual(reset.code, "protocol_error")
        const seen = yield* exchange.await.pipe(Effect.flatten)
        assert.isTrue(seen.closed)
        assert.notInclude(seen.text, "evil")
        assert.isAtMost(seen.text.split("HTTP/1.1 ").length, 2)
        yield* stillServing(relay.url, bystanderCookie)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a body shorter than its Content-Length at its end closes the browser's connection",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const exchange = yield* Effect.fork(keepAliveExchange(relay.url, cookie, "/peers", 3000))
        const open = yield* Effect.promise(() => daemon.nextOf("Open"))
        daemon.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [["content-length", "50"]] })))
        daemon.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode("short"), true)))
        const seen = yield* exchange.await.pipe(Effect.flatten)
        assert.isTrue(seen.closed, "the connection stayed open: the next response would be read as this body")
        yield* stillServing(relay.url, bystanderCookie)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "heads with bad framing (differing lengths, a 1xx status, a header Node refuses) get a 502, not a crash",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("mallory")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const heads: ReadonlyArray<{ status: number; headers: ReadonlyArray<readonly [string, string]> }> = [
          { status: 200, headers: [["content-length", "5"], ["content-length", "6"]] },
          { status: 200, headers: [["content-length", "-1"]] },
          { status: 103, headers: [] },
          { status: 200, headers: [["x-bad", "caf\u00e9\u2603"]] }
        ]
        for (const head of heads) {
          const reply = yield* Effect.fork(request(`${relay.url}/peers`, cert.cert, { headers: { cookie } }))
          const open = yield* Effect.promise(() => daemon.nextOf("Open"))
          daemon.ws.send(
            encodeFrame(Frames.response(open.stream, {
              status: head.status,
              headers: head.headers.map(([k, v]) => [k, v] as const)
            }))
          )
          daemon.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode("hello"), true)))
          const got = yield* reply.await
          if (got._tag === "Success") assert.strictEqual(got.value.status, 502, JSON.stringify(head))
        }
        yield* stillServing(relay.url, bystanderCookie)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

/** A raw TCP client from 127.0.0.2 (Linux answers all of 127/8), so 127.0.0.1 stays a separate client. */
const rawClient = (port: number) =>
  Effect.async<{ socket: net.Socket; received: () => string; closedAt: Promise<number> }>((resume) => {
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" })
    const closedAt = new Promise<number>((r) => socket.on("close", () => r(Date.now())))
    socket.on("data", (c) => chunks.push(c))
    socket.on("error", () => undefined)
    socket.on(
      "connect",
      () => resume(Effect.succeed({ socket, received: () => Buffer.concat(chunks).toString(), closedAt }))
    )
  })

const within = (p: Promise<number>, ms: number) =>
  Effect.promise(() => Promise.race([p, new Promise<number>((r) => setTimeout(() => r(-1), ms))]))

const plainHealth = (port: number) =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      http.get(`http://127.0.0.1:${port}/_relay/health`, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }).on("error", () => resolve(-1))
    })
  )

describe("relay hardening: slow and crowding clients before login", () => {
  const fast = { tls: undefined, headersTimeoutMs: 800, bodyTimeoutMs: 800 }

  it.live(
    "a head trickled a line at a time, or nothing at all, is cut at the headers timeout",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, fast)
        const silent = yield* rawClient(relay.port)
        const trickle = yield* rawClient(relay.port)
        const start = Date.now()
        trickle.socket.write("POST /auth HTTP/1.1\r\nhost: relay\r\n")
        const drip = setInterval(
          () => trickle.socket.writable && trickle.socket.write(`x-drip-${Date.now()}: 1\r\n`),
          150
        )
        const trickleClosed = yield* within(trickle.closedAt, 5000)
        const silentClosed = yield* within(silent.closedAt, 5000)
        clearInterval(drip)
        assert.isAbove(trickleClosed, 0, "the trickled head was never cut")
        assert.isAbove(silentClosed, 0, "the silent connection was never cut")
        assert.isBelow(trickleClosed - start, 3000)
        assert.isBelow(silentClosed - start, 3000)
        assert.strictEqual(yield* plainHealth(relay.port), 200)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a body trickled to /auth or /api/register is answered 408 and closed at the body timeout",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, fast)
        for (const path of ["/auth", "/api/register", "/api/rotate"]) {
          const client = yield* rawClient(relay.port)
          const start = Date.now()
          client.socket.write(
            `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${relay.port}\r\norigin: http://127.0.0.1:${relay.port}\r\n` +
              "content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\nk"
          )
          const drip = setInterval(() => client.socket.writable && client.socket.write("e"), 150)
          const closed = yield* within(client.closedAt, 5000)
          clearInterval(drip)
          assert.isAbove(closed, 0, `${path}: the trickled body was never cut`)
          assert.isBelow(closed - start, 3000, path)
          if (path !== "/api/rotate") assert.match(client.received(), /^HTTP\/1\.1 408 /, path)
        }
        assert.strictEqual(yield* plainHealth(relay.port), 200)
        const users = yield* Effect.flatMap(ApiKeys, (k) => k.list)
        assert.strictEqual(users.length, 0)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "one address holds at most 32 unauthenticated connections; the rest are refused and others are served",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { tls: undefined })
        const clients = []
        for (let i = 0; i < 40; i++) clients.push(yield* rawClient(relay.port))
        yield* Effect.sleep("300 millis")
        const open = clients.filter((c) => !c.socket.destroyed && c.socket.readyState === "open")
        assert.strictEqual(open.length, 32)
        assert.isTrue(clients.slice(32).every((c) => c.received().startsWith("HTTP/1.1 429 ")))
        // Another address is not affected; freeing places lets this one in again.
        assert.strictEqual(yield* plainHealth(relay.port), 200)
        open.slice(0, 4).forEach((c) => c.socket.destroy())
        yield* Effect.sleep("100 millis")
        const again = yield* rawClient(relay.port)
        again.socket.write(`GET /_relay/health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n`)
        yield* within(again.closedAt, 3000)
        assert.match(again.received(), /^HTTP\/1\.1 200 /)
        clients.forEach((c) => c.socket.destroy())
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

describe("relay hardening: a frozen daemon", () => {
  it.live(
    "a request whose daemon never answers gets 504 gateway_timeout; a stream whose head arrived is left alone",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { responseTimeoutMs: 800 })
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("frozen")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)

        // An SSE stream answered at once stays open past the deadline.
        const sse = yield* Effect.fork(keepAliveExchange(relay.url, cookie, "/events/stream", 2500))
        const sseOpen = yield* Effect.promise(() => daemon.nextOf("Open"))
        daemon.ws.send(
          encodeFrame(
            Frames.response(sseOpen.stream, { status: 200, headers: [["content-type", "text/event-stream"]] })
          )
        )

        const start = Date.now()
        const reply = yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })
        assert.strictEqual(reply.status, 504)
        assert.strictEqual(JSON.parse(reply.body).error.code, "gateway_timeout")
        assert.isBelow(Date.now() - start, 3000)
        const reset = yield* Effect.promise(() => daemon.nextOf("Reset"))
        assert.strictEqual(reset.code, "cancelled")

        const ws = new WebSocket(`${relay.url.replace("https", "wss")}/events/ws`, {
          headers: { cookie, origin: relay.url },
          ca: cert.cert
        })
        const refused = yield* Effect.async<number>((resume) => {
          ws.on("unexpected-response", (_req, res) => resume(Effect.succeed(res.statusCode ?? 0)))
          ws.on("error", () => resume(Effect.succeed(-1)))
        })
        assert.strictEqual(refused, 504)

        const stream = yield* sse.await.pipe(Effect.flatten)
        assert.isFalse(stream.closed, "the answered SSE stream was cut")
        assert.match(stream.text, /^HTTP\/1\.1 200 /)
        yield* stillServing(relay.url, bystanderCookie)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

const storedDaemons = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ user_id: string; daemon_id: string }>`SELECT user_id, daemon_id FROM daemons ORDER BY daemon_id`
)

describe("relay hardening: what the response timeout does not cut", () => {
  it.live(
    "a long-poll waits the timeout it asked for, and an upload's deadline starts once its body is through",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { responseTimeoutMs: 500 })
        const key = yield* mintKey("patient")
        const daemon = yield* rawDaemon(relay.url, key, cert.cert)
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const headers = { cookie, origin: relay.url }

        const poll = yield* Effect.fork(
          request(`${relay.url}/asks/a1/wait?timeout=3`, cert.cert, { method: "POST", headers })
        )
        const pollOpen = yield* Effect.promise(() => daemon.nextOf("Open"))
        yield* Effect.sleep("1500 millis")
        daemon.ws.send(
          encodeFrame(Frames.response(pollOpen.stream, { status: 200, headers: [["content-length", "2"]] }))
        )
        daemon.ws.send(encodeFrame(Frames.data(pollOpen.stream, new TextEncoder().encode("ok"), true)))
        assert.strictEqual((yield* poll.await.pipe(Effect.flatten)).status, 200)

        // A body sent over 1.5 s, three times the response timeout, then answered at once.
        const upload = yield* Effect.async<number>((resume) => {
          const req = https.request(`${relay.url}/attachments`, {
            method: "POST",
            headers,
            ca: cert.cert,
            agent: false
          }, (res) => {
            res.resume()
            res.on("end", () => resume(Effect.succeed(res.statusCode ?? 0)))
          })
          req.on("error", () => resume(Effect.succeed(-1)))
          let parts = 0
          const drip = setInterval(() => {
            req.write("part ")
            if (++parts === 6) {
              clearInterval(drip)
              req.end()
            }
          }, 250)
        }).pipe(Effect.fork)
        const uploadOpen = yield* Effect.promise(() => daemon.nextOf("Open"))
        yield* Effect.promise(async () => {
          for (;;) {
            const f = await daemon.next()
            if (f._tag === "Data" && f.stream === uploadOpen.stream && f.end) return
          }
        })
        daemon.ws.send(
          encodeFrame(Frames.response(uploadOpen.stream, { status: 201, headers: [["content-length", "0"]] }))
        )
        daemon.ws.send(encodeFrame(Frames.data(uploadOpen.stream, new Uint8Array(0), true)))
        assert.strictEqual(yield* upload.await.pipe(Effect.flatten), 201)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

describe("relay hardening: tunnels and daemon ids per key", () => {
  it.live(
    "a key holds at most maxTunnelsPerKey tunnels; one more is closed with 4029 and not stored",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { maxTunnelsPerKey: 3 })
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("many")
        const first = yield* rawDaemon(relay.url, key, cert.cert, "d1")
        yield* rawDaemon(relay.url, key, cert.cert, "d2")
        yield* rawDaemon(relay.url, key, cert.cert, "d3")
        const fourth = yield* rawDaemon(relay.url, key, cert.cert, "d4")
        const refused = yield* Effect.promise(() => fourth.closed).pipe(Effect.timeout("3 seconds"))
        assert.strictEqual(refused.code, 4029)
        assert.include(refused.reason, "too_many_tunnels")
        // Reconnecting an id already open replaces it rather than counting twice.
        const again = yield* rawDaemon(relay.url, key, cert.cert, "d1")
        assert.strictEqual((yield* Effect.promise(() => first.closed)).code, 4001)
        assert.strictEqual(again.ws.readyState, WebSocket.OPEN)
        const ids = (yield* storedDaemons).filter((r) => r.user_id !== "bystander").map((r) => r.daemon_id)
        assert.deepStrictEqual(ids, ["d1", "d2", "d3"])
        const counts = yield* stillServing(relay.url, bystanderCookie)
        assert.strictEqual(counts.tunnels, 4)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "daemon ids not seen within the TTL are forgotten when daemons next come and go, and a user keeps at most maxPerUser",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("churn")
        const old = yield* Scope.make()
        yield* rawDaemon(relay.url, key, cert.cert, "old").pipe(Scope.extend(old))
        yield* Scope.close(old, Exit.void)
        yield* Effect.sleep("1500 millis")
        for (let i = 0; i < 6; i++) {
          const scope = yield* Scope.make()
          yield* rawDaemon(relay.url, key, cert.cert, `new${i}`).pipe(Scope.extend(scope))
          yield* Scope.close(scope, Exit.void)
        }
        yield* Effect.sleep("200 millis")
        const ids = (yield* storedDaemons).map((r) => r.daemon_id)
        assert.notInclude(ids, "old")
        assert.deepStrictEqual(ids, ["new2", "new3", "new4", "new5"])
        assert.strictEqual((yield* request(`${relay.url}/_relay/health`, cert.cert)).status, 200)
      }).pipe(
        Effect.scoped,
        Effect.provide(
          RelayServicesLayer(":memory:", { intervalMs: 1000, deadAfterMs: 3000 }, { ttlMs: 1000, maxPerUser: 4 })
        )
      ),
    30_000
  )
})

const nested = (n: number) => "[".repeat(n) + "]".repeat(n)
const nestedObject = (n: number) => "{\"a\":".repeat(n) + "1" + "}".repeat(n)

/** Response heads with statuses and headers a daemon should never send. */
const hostileHead = fc.record({
  status: fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.constantFrom(101, 103, 200, 204, 304)),
  headers: fc.array(
    fc.tuple(
      fc.oneof(
        fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
        fc.constantFrom("content-length", "set-cookie", "content-type", "transfer-encoding")
      ),
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 40 }).filter((v) => !/[\r\n\0]/.test(v)),
        fc.constantFrom("5", "-1", "1,2", "abc", "99999999999999999999")
      )
    ),
    { minLength: 1, maxLength: 4 }
  )
}).map((h) => JSON.stringify(h))

/** JSON texts a hostile peer might send: ordinary, 3,000 levels deep, huge arrays, long strings. */
const hostileJson = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 5000 }).map(nested),
  fc.integer({ min: 1, max: 5000 }).map(nestedObject),
  fc.constant(nested(3000)),
  fc.integer({ min: 1, max: 3000 }).map((n) => `{"status":200,"headers":${nested(n)}}`),
  fc.integer({ min: 1, max: 80_000 }).map((n) =>
    JSON.stringify({ status: 200, headers: Array.from({ length: n }, () => ["x", "y"]) })
  ),
  fc.integer({ min: 1, max: 900_000 }).map((n) =>
    JSON.stringify({ status: 200, headers: [["x-long", "a".repeat(n)]] })
  ),
  hostileHead,
  fc.record({ code: fc.string(), message: fc.string(), reason: fc.string() }).map((h) => JSON.stringify(h))
)

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text))

/** A frame with a hand-made header: any type, flags and length, on the live stream or another. */
const hostileFrame = fc.oneof(
  fc.record({
    type: fc.integer({ min: 0, max: 9 }),
    flags: fc.integer({ min: 0, max: 255 }),
    target: fc.constantFrom("live", "live", "other", "zero"),
    lengthSkew: fc.constantFrom(0, 0, 0, 1, -1),
    payload: fc.oneof(hostileJson.map(bytesOf), fc.uint8Array({ maxLength: 2048 }))
  }),
  // Well-formed headers on the live stream, so the heads and bodies reach the relay's handlers.
  fc.record({
    type: fc.integer({ min: 1, max: 8 }),
    flags: fc.constantFrom(0, 1, 2),
    target: fc.constant("live"),
    lengthSkew: fc.constant(0),
    payload: fc.oneof(hostileJson.map(bytesOf), fc.uint8Array({ maxLength: 2048 }))
  }),
  fc.record({
    type: fc.constant(2),
    flags: fc.constant(0),
    target: fc.constant("live"),
    lengthSkew: fc.constant(0),
    payload: hostileHead.map(bytesOf)
  })
)

const rawFrame = (f: typeof hostileFrame extends fc.Arbitrary<infer T> ? T : never, live: number) => {
  const payload = f.payload.subarray(0, MAX_FRAME_PAYLOAD)
  const out = Buffer.alloc(10 + payload.length)
  out.writeUInt8(f.type, 0)
  out.writeUInt8(f.flags, 1)
  out.writeUInt32BE(f.target === "live" ? live : f.target === "other" ? live + 1000 : 0, 2)
  out.writeUInt32BE(Math.max(0, payload.length + f.lengthSkew), 6)
  out.set(payload, 10)
  return out
}

const noStackTrace = (body: string) => assert.notMatch(body, /\n\s+at |node:internal|\.ts:\d+/)

describe("relay hardening: hostile input to the relay's decoders", () => {
  it.live(
    "fuzzed tunnel frames from a daemon never crash the relay; each browser request settles",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { responseTimeoutMs: 300 })
        const { cookie: bystanderCookie } = yield* bystander(relay.url)
        const key = yield* mintKey("fuzzer")
        const scope = yield* Effect.scope
        const run = Runtime.runPromise(yield* Effect.runtime<never>())
        let daemon = yield* rawDaemon(relay.url, key, cert.cert, "fuzz")
        const { cookie } = yield* login(relay.url, cert.cert, key)
        let reached = 0
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(hostileFrame, { minLength: 1, maxLength: 4 }), async (frames) => {
              if (daemon.ws.readyState !== WebSocket.OPEN) {
                daemon = await run(rawDaemon(relay.url, key, cert.cert, "fuzz").pipe(Scope.extend(scope)))
              }
              const reply = run(Effect.either(request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })))
              // A tunnel the last run made the relay close may still look open here: then no Open comes.
              const open = await Promise.race([daemon.nextOf("Open"), reply.then(() => undefined)])
              if (open === undefined) return
              reached++
              for (const f of frames) daemon.ws.send(rawFrame(f, open.stream))
              if (daemon.ws.readyState === WebSocket.OPEN) {
                daemon.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [] })))
                daemon.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode("ok"), true)))
              }
              const settled = await reply
              if (settled._tag === "Right") noStackTrace(settled.right.body)
            }),
            { numRuns: 150 }
          )
        )
        assert.isAtLeast(reached, 100, "too few runs reached the daemon")
        const counts = yield* stillServing(relay.url, bystanderCookie)
        assert.isAtLeast(counts.tunnels, 1)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    120_000
  )

  it.live(
    "/api/register and /auth answer hostile bodies with 400 and the error envelope, store nothing, keep serving",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { authRate: { max: 100_000, windowMs: 60_000 } })
        const run = Runtime.runPromise(yield* Effect.runtime<never>())
        const before = (yield* Effect.flatMap(ApiKeys, (k) => k.list)).length
        const body = fc.oneof(
          hostileJson.filter((t) => Buffer.byteLength(t) <= 4096),
          fc.integer({ min: 1, max: 2048 }).map(nested),
          fc.constant(nestedObject(800)),
          fc.constant(`{"label":${nested(2000)}}`),
          fc.string({ unit: "binary", maxLength: 512 }),
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString("latin1"))
        ).filter((t) => !/^\s*\{\s*\}\s*$/.test(t) && t.trim() !== "" && t.trim() !== "null")
        const check = async (path: string, text: string, contentType: string) => {
          const reply = await run(request(`${relay.url}${path}`, cert.cert, {
            method: "POST",
            headers: { "content-type": contentType, origin: relay.url },
            body: text
          }))
          noStackTrace(reply.body)
          return reply
        }
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(body, async (text) => {
              const registered = await check("/api/register", text, "application/json")
              if (registered.status !== 201) {
                assert.oneOf(registered.status, [400, 413])
                const envelope = JSON.parse(registered.body) as { error: { code: string; message: string } }
                assert.strictEqual(
                  envelope.error.code,
                  registered.status === 400 ? "invalid_request" : "payload_too_large"
                )
                assert.isString(envelope.error.message)
              }
              const auth = await check("/auth", text, "application/x-www-form-urlencoded")
              assert.oneOf(auth.status, [400, 401, 413])
            }),
            { numRuns: 80 }
          )
        )
        // A deeply nested object is refused before Schema sees it, so it registers nobody.
        const users = (yield* Effect.flatMap(ApiKeys, (k) => k.list)).length
        for (const text of [nestedObject(600), `{"label":${nested(2000)}}`]) {
          const deep = yield* request(`${relay.url}/api/register`, cert.cert, { method: "POST", body: text })
          assert.strictEqual(deep.status, 400)
          assert.strictEqual(JSON.parse(deep.body).error.code, "invalid_request")
        }
        assert.strictEqual((yield* Effect.flatMap(ApiKeys, (k) => k.list)).length, users)
        const after = yield* Effect.flatMap(ApiKeys, (k) => k.list)
        assert.isTrue(after.every((k) => /^[\w .@-]*$/.test(k.label ?? "")))
        assert.isAtLeast(after.length, before)
        assert.strictEqual((yield* request(`${relay.url}/_relay/health`, cert.cert)).status, 200)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    120_000
  )
})

describe("relay hardening: the rate limiter's table", () => {
  // The relay's own RateLimits (the store's table), capped at 1,000 clients per bucket here.
  it.effect("stays bounded however many addresses try within one window", () =>
    Effect.gen(function*() {
      const limits = yield* RateLimits
      const sql = yield* SqlClient.SqlClient
      for (let i = 0; i < 5_000; i++) yield* limits.take("auth", `2001:db8::${i.toString(16)}`)
      const [rows] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = 'auth'`
      assert.isAtMost(Number(rows!.n), 1_000)
      // The most recent clients are still counted.
      for (let i = 0; i < 10; i++) assert.isTrue(yield* limits.take("auth", "2001:db8::ffff"))
      assert.notStrictEqual(yield* limits.take("auth", "2001:db8::ffff"), true)
    }).pipe(
      Effect.provide(
        RateLimitsLive({ max: 10, windowMs: 60_000 }, 1_000).pipe(Layer.provideMerge(RelayStoreLive(":memory:")))
      )
    ), 60_000)
})
