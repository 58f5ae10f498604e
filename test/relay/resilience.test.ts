import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Scope } from "effect"
import * as https from "node:https"
import * as net from "node:net"
import * as path from "node:path"
import WebSocket from "ws"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { TunnelClientLive } from "../../src/layers/TunnelClientLive.js"
import { decodeFrame, encodeFrame, Frames, type TunnelFrame } from "../../src/protocol/TunnelFrame.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"
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

/** Waits until the browser side of a request settles, with its status and when. */
const timedGet = (url: string, cookie: string) =>
  Effect.async<{ status: number; at: number }, never>((resume) => {
    const req = https.get(url, { headers: { cookie }, ca: cert.cert, agent: false }, (res) => {
      res.resume()
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, at: Date.now() })))
      res.on("error", () => resume(Effect.succeed({ status: res.statusCode ?? 0, at: Date.now() })))
    })
    req.on("error", () => resume(Effect.succeed({ status: -1, at: Date.now() })))
  })

/** A TCP proxy that can start swallowing bytes without closing anything: a half-open link. */
const blackholeProxy = (target: number) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; blackhole: (on: boolean) => void; server: net.Server }>((resume) => {
      let dropping = false
      const sockets = new Set<net.Socket>()
      const server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1")
        sockets.add(client).add(upstream)
        client.on("data", (d) => dropping || upstream.write(d))
        upstream.on("data", (d) => dropping || client.write(d))
        const end = () => (client.destroy(), upstream.destroy())
        client.on("close", end).on("error", end)
        upstream.on("close", end).on("error", end)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as net.AddressInfo).port,
          server,
          blackhole: (on: boolean) => {
            dropping = on
            if (!on) return
            // Sockets already open stay open but dead; new ones work again once healed.
          }
        })))
      server.on("close", () => sockets.forEach((s) => s.destroy()))
    }),
    ({ server }) => Effect.sync(() => server.close())
  )

/** A hand-driven daemon on the tunnel, to send the relay frames a real one never would. */
const rawDaemon = (url: string, key: string) =>
  Effect.acquireRelease(
    Effect.async<{ ws: WebSocket; frames: Array<TunnelFrame>; next: () => Promise<TunnelFrame> }, Error>((resume) => {
      const frames: Array<TunnelFrame> = []
      let waiter: ((f: TunnelFrame) => void) | undefined
      const ws = new WebSocket(`${url.replace("https", "wss")}/tunnel`, {
        headers: { authorization: `Bearer ${key}`, "x-repowire-daemon-id": "raw" },
        ca: cert.cert
      })
      ws.on("message", (d: Buffer) => {
        const f = decodeFrame(d)
        if (Either.isLeft(f)) return
        if (waiter) {
          const w = waiter
          waiter = undefined
          w(f.right)
        } else frames.push(f.right)
      })
      ws.on("open", () =>
        resume(Effect.succeed({
          ws,
          frames,
          next: () => {
            const f = frames.shift()
            return f ? Promise.resolve(f) : new Promise<TunnelFrame>((r) => (waiter = r))
          }
        })))
      ws.on("error", (e) => resume(Effect.fail(e)))
    }),
    ({ ws }) => Effect.sync(() => ws.terminate())
  )

const nextOpen = (d: { next: () => Promise<TunnelFrame> }) =>
  Effect.promise(async () => {
    for (;;) {
      const f = await d.next()
      if (f._tag === "Open") return f
    }
  })

describe("tunnel resilience", () => {
  it.live(
    "killing the relay mid-request gives the browser 502 within 1 s; the daemon is back within 2 s of its return",
    () =>
      Effect.gen(function*() {
        const db = path.join(tempDir("rw-relay-"), "relay.db")
        const first = yield* Scope.make()
        const firstServices = yield* Layer.buildWithScope(RelayServicesLayer(db), first)
        const relay = yield* startRelay(cert).pipe(Scope.extend(first), Effect.provide(firstServices))
        const key = yield* mintKey("frank").pipe(Effect.provide(RelayServicesLayer(db)))
        // Production backoff (no test shortcuts), fast pings.
        const ctx = yield* Layer.build(
          TunnelClientLive(fakeApp("F"), { ca: cert.cert }).pipe(
            Layer.provide(
              ConfigMemory(tempDir("rw-home-"), {
                relay: { enabled: true, url: relay.url, api_key: key, daemon_id: "laptop" }
              })
            )
          )
        )
        yield* waitConnected().pipe(Effect.provide(ctx))
        // A relay layer built in `first`'s scope serves the browser; the same SQLite file survives.
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const pending = yield* Effect.fork(timedGet(`${relay.url}/asks/hang`, cookie))
        yield* Effect.sleep("200 millis")
        const killedAt = Date.now()
        yield* Scope.close(first, Exit.void)
        const result = yield* pending.await.pipe(Effect.flatten)
        assert.strictEqual(result.status, 502)
        assert.isBelow(result.at - killedAt, 1000)
        yield* Effect.sleep("500 millis")
        const down = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
        assert.notStrictEqual(down.status, "connected")
        // A few seconds down: ordinary backoff would have grown past 2 s by now.
        yield* Effect.sleep("3 seconds")
        const backServices = yield* Layer.build(RelayServicesLayer(db))
        const back = yield* startRelay(cert, { port: relay.port }).pipe(Effect.provide(backServices))
        const returnedAt = Date.now()
        yield* waitConnected(2000).pipe(Effect.provide(ctx))
        assert.isBelow(Date.now() - returnedAt, 2000)
        const again = yield* login(back.url, cert.cert, key)
        assert.strictEqual(again.reply.status, 303)
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a half-open link is detected by ping/pong and the daemon reconnects when the path heals",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("gina")
        const proxy = yield* blackholeProxy(relay.port)
        const ctx = yield* Layer.build(
          tunnelClient(fakeApp("G"), { url: `https://127.0.0.1:${proxy.port}`, key, daemonId: "laptop", ca: cert.cert })
        )
        yield* waitConnected().pipe(Effect.provide(ctx))
        proxy.blackhole(true)
        const start = Date.now()
        let current = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
        while (current.status === "connected" && Date.now() - start < 15_000) {
          yield* Effect.sleep("50 millis")
          current = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
        }
        // Test pings: every 0.5 s, dead after 1.5 s (production: 4 s / 11 s, so within 15 s).
        assert.isBelow(Date.now() - start, 3000)
        assert.include(current.last_error ?? "", "no answer from the relay")
        proxy.blackhole(false)
        yield* waitConnected(5000).pipe(Effect.provide(ctx))
        // The relay dropped the dead tunnel on its side as well and serves the new one.
        const { cookie } = yield* login(relay.url, cert.cert, key)
        const peers = yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })
        assert.strictEqual(peers.status, 200)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a dropped or malformed frame resets its stream with a typed error, not the connection",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("hana")
        const daemon = yield* rawDaemon(relay.url, key)
        const { cookie } = yield* login(relay.url, cert.cert, key)

        // 1. The response head is "dropped": body arrives first. That stream fails (502), typed reset to the daemon.
        const first = yield* Effect.fork(timedGet(`${relay.url}/peers`, cookie))
        const open1 = yield* nextOpen(daemon)
        daemon.ws.send(encodeFrame(Frames.data(open1.stream, new TextEncoder().encode("orphan body"), true)))
        assert.strictEqual((yield* first.await.pipe(Effect.flatten)).status, 502)
        const reset = yield* Effect.promise(async () => {
          for (;;) {
            const f = await daemon.next()
            if (f._tag === "Reset") return f
          }
        })
        assert.strictEqual(reset._tag, "Reset")
        if (reset._tag === "Reset") assert.strictEqual(reset.code, "protocol_error")

        // 2. A malformed head on a stream: only that stream is reset.
        const second = yield* Effect.fork(timedGet(`${relay.url}/peers`, cookie))
        const open2 = yield* nextOpen(daemon)
        const bad = encodeFrame(Frames.response(open2.stream, { status: 200, headers: [] }))
        bad.set(new TextEncoder().encode("{!"), 10)
        daemon.ws.send(bad)
        assert.strictEqual((yield* second.await.pipe(Effect.flatten)).status, 502)

        // 3. Garbage with no stream id and a frame for a stream that does not exist: ignored / reset.
        daemon.ws.send(Buffer.from([1, 2, 3]))
        daemon.ws.send(encodeFrame(Frames.data(9999, new Uint8Array(3))))

        // 4. The same connection still serves the next request.
        const third = yield* Effect.fork(timedGet(`${relay.url}/peers`, cookie))
        const open3 = yield* nextOpen(daemon)
        daemon.ws.send(
          encodeFrame(Frames.response(open3.stream, { status: 200, headers: [["content-type", "text/plain"]] }))
        )
        daemon.ws.send(encodeFrame(Frames.data(open3.stream, new TextEncoder().encode("ok"), true)))
        assert.strictEqual((yield* third.await.pipe(Effect.flatten)).status, 200)
        assert.strictEqual(daemon.ws.readyState, WebSocket.OPEN)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live("a browser that goes away cancels its stream at the daemon", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("ivan")
      const daemon = yield* rawDaemon(relay.url, key)
      const { cookie } = yield* login(relay.url, cert.cert, key)
      const req = https.get(`${relay.url}/events/stream`, { headers: { cookie }, ca: cert.cert, agent: false })
      req.on("error", () => undefined)
      const open = yield* nextOpen(daemon)
      daemon.ws.send(
        encodeFrame(Frames.response(open.stream, { status: 200, headers: [["content-type", "text/event-stream"]] }))
      )
      yield* Effect.sleep("100 millis")
      req.destroy()
      const frame = yield* Effect.promise(async () => {
        for (;;) {
          const f = await daemon.next()
          if (f._tag === "Reset") return f
        }
      }).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(frame._tag === "Reset" && frame.code, "cancelled")
      assert.strictEqual(frame.stream, open.stream)
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 30_000)

  it.live("relay shutdown sends GOAWAY and lets in-flight requests drain", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("jo")
      const daemon = yield* rawDaemon(relay.url, key)
      const { cookie } = yield* login(relay.url, cert.cert, key)
      const inner = yield* Scope.make()
      const drainy = yield* startRelay(cert, { drainMs: 2000 }).pipe(Scope.extend(inner))
      const d2 = yield* rawDaemon(drainy.url, key)
      const c2 = (yield* login(drainy.url, cert.cert, key)).cookie
      const inflight = yield* Effect.fork(timedGet(`${drainy.url}/peers`, c2))
      const open = yield* nextOpen(d2)
      const closing = yield* Effect.fork(Scope.close(inner, Exit.void))
      const goaway = yield* Effect.promise(async () => {
        for (;;) {
          const f = await d2.next()
          if (f._tag === "GoAway") return f
        }
      }).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(goaway._tag, "GoAway")
      d2.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [] })))
      d2.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode("done"), true)))
      assert.strictEqual((yield* inflight.await.pipe(Effect.flatten)).status, 200)
      yield* closing.await
      assert.isDefined(daemon)
      assert.isDefined(cookie)
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 30_000)
})
