import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { AuditLive } from "../../src/layers/audit/AuditLive.js"
import { generateKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { Audit } from "../../src/services/Audit.js"
import { mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, request as local } from "../support/Http.js"
import { loginPlain, pairThroughRelay } from "./wire.js"

/** A plain relay with its audit log (as behind a proxy) and a real daemon dialling it, e2e required. */
const setup = Effect.gen(function*() {
  const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
  const key = yield* mintKey("dora")
  const relayConfig = { enabled: true, url: `ws://127.0.0.1:${relay.port}`, api_key: key, daemon_id: "laptop" }
  const daemon = yield* Effect.acquireRelease(
    Effect.promise(() => startDaemon({ relay: { ...relayConfig, e2e: "required" } })),
    (d) => Effect.promise(() => d.close())
  )
  for (let i = 0;; i++) {
    const h = yield* Effect.promise(() => local(daemon.url, "GET", "/health"))
    if (h.body?.relay?.status === "connected") break
    if (i > 200) return yield* Effect.dieMessage("the relay link never came up")
    yield* Effect.sleep("25 millis")
  }
  return { relay, daemon, cookie: yield* loginPlain(relay.url, key) }
})

describe("device_paired in the relay's audit log", () => {
  it.live("a pairing through the relay is recorded once it completes; a refused one is not", () => {
    const dataDir = tempDir("rw-audit-pair-")
    return Effect.gen(function*() {
      const { cookie, daemon, relay } = yield* setup
      const pair = () =>
        Effect.flatMap(
          Effect.promise(() => local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })),
          (identity) =>
            Effect.flatMap(
              generateKeyPair(),
              (browser) =>
                Effect.promise(() =>
                  pairThroughRelay(relay.url, cookie, identity.body.secret, browser).then(
                    () => "paired",
                    () => "refused"
                  )
                )
            )
        )
      assert.strictEqual(yield* pair(), "paired")
      // A secret already spent: the daemon refuses the handshake, and the relay sees that refusal.
      const identity = yield* Effect.promise(() =>
        local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })
      )
      const first = yield* generateKeyPair()
      yield* Effect.promise(() => pairThroughRelay(relay.url, cookie, identity.body.secret, first))
      const second = yield* generateKeyPair()
      const again = yield* Effect.promise(() =>
        pairThroughRelay(relay.url, cookie, identity.body.secret, second).then(() => "paired", () => "refused")
      )
      assert.strictEqual(again, "refused")

      const audit = yield* Audit
      yield* audit.flush
      const page = yield* audit.page("dora", 0, 1000)
      const paired = page.records.filter((r) => r.kind === "device_paired")
      assert.strictEqual(paired.length, 2, "two pairings completed")
      for (const r of paired) {
        assert.deepStrictEqual(r.detail, { daemon_id: "laptop", client: "127.0.0.1" })
      }
      const steps = page.records.filter((r) =>
        r.kind === "request" && String(r.detail.path).startsWith("/sealed/pair/")
      )
      assert.deepStrictEqual(steps.map((r) => [r.detail.path, r.detail.status]), [
        ["/sealed/pair/begin", 200],
        ["/sealed/pair/finish", 200],
        ["/sealed/pair/begin", 200],
        ["/sealed/pair/finish", 200],
        ["/sealed/pair/begin", 403]
      ])
    }).pipe(
      Effect.scoped,
      Effect.provide(
        AuditLive(dataDir, { flushMs: 10 }).pipe(Layer.provideMerge(RelayServicesLayer(path.join(dataDir, "relay.db"))))
      )
    )
  }, 60_000)
})
