import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { encodeFrame, Frames } from "../../../src/protocol/TunnelFrame.js"
import { RelayServicesLayer, request } from "../../relay/harness.js"
import { cert, hostileTunnel, keepAliveExchange } from "./hostileRelay.js"

describe("relay hardening: response framing", () => {
  it.live(
    "a body longer than its Content-Length is a reset: the surplus never reaches the browser's connection",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel()
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
        yield* stillServing()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a body shorter than its Content-Length at its end closes the browser's connection",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel()
        const exchange = yield* Effect.fork(keepAliveExchange(relay.url, cookie, "/peers", 3000))
        const open = yield* Effect.promise(() => daemon.nextOf("Open"))
        daemon.ws.send(encodeFrame(Frames.response(open.stream, { status: 200, headers: [["content-length", "50"]] })))
        daemon.ws.send(encodeFrame(Frames.data(open.stream, new TextEncoder().encode("short"), true)))
        const seen = yield* exchange.await.pipe(Effect.flatten)
        assert.isTrue(seen.closed, "the connection stayed open: the next response would be read as this body")
        yield* stillServing()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "heads with bad framing (differing lengths, a 1xx status, a header Node refuses) get a 502, not a crash",
    () =>
      Effect.gen(function*() {
        const { relay, daemon, cookie, stillServing } = yield* hostileTunnel()
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
        yield* stillServing()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})
