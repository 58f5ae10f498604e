import { assert, describe, it } from "@effect/vitest"
import { Effect, Runtime, Scope } from "effect"
import * as fc from "fast-check"
import WebSocket from "ws"
import { encodeFrame, Frames } from "../../../src/protocol/TunnelFrame.js"
import { ApiKeys } from "../../../src/services/ApiKeys.js"
import { rawDaemon, RelayServicesLayer, request, startRelay } from "../../relay/harness.js"
import { hostileFrame, hostileJson, nested, nestedObject, noStackTrace, rawFrame } from "./hostileInput.js"
import { cert, hostileTunnel } from "./hostileRelay.js"

describe("relay hardening: hostile input to the relay's decoders", () => {
  it.live(
    "fuzzed tunnel frames from a daemon never crash the relay; each browser request settles",
    () =>
      Effect.gen(function*() {
        const tunnel = yield* hostileTunnel({ responseTimeoutMs: 300 }, "fuzzer")
        const { relay, key, cookie, stillServing } = tunnel
        let daemon = tunnel.daemon
        const scope = yield* Effect.scope
        const run = Runtime.runPromise(yield* Effect.runtime<never>())
        let reached = 0
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(hostileFrame, { minLength: 1, maxLength: 4 }), async (frames) => {
              if (daemon.ws.readyState !== WebSocket.OPEN) {
                daemon = await run(rawDaemon(relay.url, key, cert.cert).pipe(Scope.extend(scope)))
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
        const counts = yield* stillServing()
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
