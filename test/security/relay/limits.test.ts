import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import WebSocket from "ws"
import { RateLimitsLive } from "../../../src/layers/RateLimitsLive.js"
import { RelayStoreLive } from "../../../src/layers/RelayStoreLive.js"
import { RateLimits } from "../../../src/services/RateLimits.js"
import { mintKey, rawDaemon, RelayServicesLayer, request, startRelay } from "../../relay/harness.js"
import { bystander, cert } from "./hostileRelay.js"

const storedDaemons = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ user_id: string; daemon_id: string }>`SELECT user_id, daemon_id FROM daemons ORDER BY daemon_id`
)

describe("relay hardening: tunnels and daemon ids per key", () => {
  it.live(
    "a key holds at most maxTunnelsPerKey tunnels; one more is closed with 4029 and not stored",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { maxTunnelsPerKey: 3 })
        const { stillServing } = yield* bystander(relay.url)
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
        const counts = yield* stillServing()
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
