import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as https from "node:https"
import WebSocket from "ws"
import { encodeFrame, Frames } from "../../../src/protocol/TunnelFrame.js"
import { login, mintKey, rawDaemon, RelayServicesLayer, request, startRelay } from "../../relay/harness.js"
import { cert, hostileTunnel, keepAliveExchange } from "./hostileRelay.js"

describe("relay hardening: a frozen daemon", () => {
  it.live(
    "a request whose daemon never answers gets 504 gateway_timeout; a stream whose head arrived is left alone",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel({ responseTimeoutMs: 800 }, "frozen")

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
        yield* stillServing()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})

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
