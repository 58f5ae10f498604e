import { assert, describe, layer } from "@effect/vitest"
import { Effect, Either, Layer, Option } from "effect"
import { PolicyMemory } from "../../src/layers/PolicyLive.js"
import { EventLog } from "../../src/services/EventLog.js"
import { MessageRouter } from "../../src/services/MessageRouter.js"
import { PeerRegistry } from "../../src/services/PeerRegistry.js"
import { Tunnelled } from "../../src/services/RequestContext.js"
import { meshLayer } from "../support/Layers.js"

const POLICY = `
default: allow
rules:
  - {effect: deny, from: "backend:codex", to: "name:prod-*", actions: [ask, notify]}
  - {effect: deny, from: "via:relay", actions: [notify]}
`

const peer = (name: string, backend: "codex" | "gemini") =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const registered = yield* registry.register({ name, backend, circle: "c" }, undefined)
    return Option.getOrThrow(yield* registry.get(registered.peer_id))
  })

describe("MessageRouter under a policy", () => {
  layer(meshLayer().pipe(Layer.provide(PolicyMemory(POLICY))))((it) => {
    it.effect("refuses what the rules deny on the synchronous path, recording only the denial", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const events = yield* EventLog
        const codex = yield* peer("codex-1", "codex")
        const prod = yield* peer("prod-db", "gemini")
        const refused = router.askNow(codex, { from_peer: "codex-1", to_peer: "prod-db", text: "secret" }, Date.now())
        assert.isTrue(Either.isLeft(refused))
        if (Either.isLeft(refused)) {
          assert.strictEqual(refused.left._tag, "PolicyDenied")
          assert.include(refused.left.message, "rule 1 (deny backend:codex → name:prod-* ask,notify)")
        }
        const asked = router.askNow(prod, { from_peer: "prod-db", to_peer: "codex-1", text: "fine" }, Date.now())
        assert.isTrue(Either.isRight(asked))
        const logged = yield* events.list({ since: 0, limit: 100 })
        const denial = logged.find((e) => e.type === "policy_denied")
        assert.deepInclude(denial, { from_name: "codex-1", to_name: "prod-db", action: "ask", via: "local", rule: 1 })
        assert.isFalse(logged.some((e) => e.type === "ask" && e.from_name === "codex-1"))
      }))

    it.effect("reads how the request came in from Tunnelled", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const registry = yield* PeerRegistry
        const dashboard = yield* registry.dashboard
        const here = yield* router.notify(dashboard, { from_peer: "dashboard", to_peer: "prod-db", text: "local" })
        assert.isString(here.id)
        const far = yield* router.notify(dashboard, { from_peer: "dashboard", to_peer: "prod-db", text: "far" }).pipe(
          Effect.provideService(Tunnelled, true),
          Effect.flip
        )
        assert.strictEqual(far._tag, "PolicyDenied")
        assert.include(far.message, "dashboard (via the relay) may not notify prod-db: rule 2")
      }))
  })
})
