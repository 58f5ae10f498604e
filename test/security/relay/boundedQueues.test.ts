import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as https from "node:https"
import WebSocket from "ws"
import { encodeFrame, Frames, INITIAL_WINDOW, MAX_FRAME_PAYLOAD } from "../../../src/protocol/TunnelFrame.js"
import { RelayServicesLayer } from "../../relay/harness.js"
import { cert, hostileTunnel } from "./hostileRelay.js"

const mib = new Uint8Array(MAX_FRAME_PAYLOAD).fill(120)

describe("relay hardening: bounded queues", () => {
  it.live(
    "WebSocket messages flooded before the browser is accepted end the tunnel with 4008 flow_control",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel()
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
        const counts = yield* stillServing()
        assert.strictEqual(counts.tunnels, 1)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a response body sent past the stream's credit to a browser that does not read ends the tunnel",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel()
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
        yield* stillServing()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "browsers that stop reading cost a tunnel at most its buffer: the fullest stream is reset, the tunnel stays",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel({ tunnelBufferBytes: 2 * 1024 * 1024 })
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
        const counts = yield* stillServing()
        assert.strictEqual(counts.tunnels, 2)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a daemon that stops reading cannot make the relay queue the answers it provokes",
    () =>
      Effect.gen(function*() {
        const { daemon, stillServing } = yield* hostileTunnel()
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
        const counts = yield* stillServing()
        assert.strictEqual(counts.tunnels, 2)
        assert.isAtMost(counts.queued_bytes, 2 * 1024 * 1024)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})
