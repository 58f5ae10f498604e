import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { reachableFrom } from "../../src/layers/Reach.js"
import type { Peer, Registered } from "../../src/protocol/Peer.js"
import { MessageRouter } from "../../src/services/MessageRouter.js"
import { PeerRegistry } from "../../src/services/PeerRegistry.js"
import { Roles } from "../../src/services/Roles.js"
import { meshLayer } from "../support/Layers.js"

const register = (name: string, circle: string, backend: "codex" | "cli" = "codex") =>
  Effect.flatMap(PeerRegistry, (r) => r.register({ name, backend, circle }, undefined))
const peerOf = (registered: Registered) =>
  Effect.flatMap(PeerRegistry, (r) => Effect.map(r.get(registered.peer_id), Option.getOrThrow))
const claim = (who: Registered, extra: { circle?: string; force?: boolean } = {}) =>
  Effect.flatMap(
    Roles,
    (roles) => Effect.flatMap(peerOf(who), (p) => roles.claim(p, { role: "orchestrator", ...extra }))
  )

// One mesh for the block: each case works in circles of its own.
layer(meshLayer())("the orchestrator role", (it) => {
  it.effect("one live holder per circle; force takes it over; role agent gives it back", () =>
    Effect.gen(function*() {
      const a = yield* register("a", "x")
      const b = yield* register("b", "x")
      assert.strictEqual((yield* claim(a)).role, "orchestrator")
      assert.strictEqual((yield* claim(a)).role, "orchestrator", "claiming again is harmless")
      const taken = yield* Effect.flip(claim(b))
      assert.strictEqual(taken._tag, "RoleTaken")
      assert.include(taken.message, "circle x already has an orchestrator: a (online)")
      assert.strictEqual((yield* claim(b, { force: true })).role, "orchestrator")
      assert.strictEqual((yield* peerOf(a)).role, "agent", "the old holder is an agent again")
      const back = yield* Effect.flatMap(Roles, (r) => Effect.flatMap(peerOf(b), (p) => r.claim(p, { role: "agent" })))
      assert.strictEqual(back.role, "agent")
      assert.strictEqual((yield* claim(a)).role, "orchestrator", "the circle is free again")
    }))

  it.effect("an offline holder is replaced without force, and a claim in another circle moves the claimer", () =>
    Effect.gen(function*() {
      const old = yield* register("old", "x2")
      yield* claim(old)
      yield* TestClock.adjust("11 minutes")
      const fresh = yield* register("fresh", "y2")
      const claimed = yield* claim(fresh, { circle: "x2" })
      assert.strictEqual(claimed.role, "orchestrator")
      assert.strictEqual(claimed.circle, "x2")
      assert.strictEqual((yield* peerOf(old)).role, "agent")
    }))

  it.effect("only an agent takes the role", () =>
    Effect.gen(function*() {
      const person = yield* register("person", "x3", "cli")
      assert.strictEqual((yield* Effect.flip(claim(person)))._tag, "Forbidden")
    }))

  it.effect("an orchestrator reaches every circle, by name and by id; a plain agent does not", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const boss = yield* register("boss", "x4")
      const plain = yield* register("plain", "x4")
      const far = yield* register("far", "y4")
      const orchestrator = yield* claim(boss)
      const byId = yield* router.ask(orchestrator, { from_peer: "boss", to_peer: far.peer_id, text: "status?" })
      assert.strictEqual(byId.delivery, "queued")
      yield* router.notify(orchestrator, { from_peer: "boss", to_peer: "far", text: "hi", circle: "y4" })
      yield* router.broadcast(orchestrator, { from_peer: "boss", text: "all of y", circle: "y4" })
      const refused = yield* Effect.flip(
        router.ask(yield* peerOf(plain), { from_peer: "plain", to_peer: far.peer_id, text: "?" })
      )
      assert.strictEqual(refused._tag, "Forbidden")
      // And agents of other circles can reach the orchestrator, as they reach a person.
      const answer = yield* router.notify(yield* peerOf(far), { from_peer: "far", to_peer: "boss", text: "done" })
      assert.strictEqual(answer.delivery, "queued")
    }))
})

describe("reachableFrom (list_peers' default)", () => {
  const peer = (display_name: string, circle: string, role: Peer["role"]) => ({ display_name, circle, role })
  const peers = [
    peer("a", "x", "agent"),
    peer("b", "y", "agent"),
    peer("person", "default", "human"),
    peer("o", "z", "orchestrator")
  ]
  it("an agent sees its circle and everyone in every circle; an orchestrator sees all", () => {
    assert.deepStrictEqual(reachableFrom({ role: "agent", circle: "x" }, peers).map((p) => p.display_name), [
      "a",
      "person",
      "o"
    ])
    assert.deepStrictEqual(reachableFrom({ role: "orchestrator", circle: "z" }, peers).map((p) => p.display_name), [
      "a",
      "b",
      "person",
      "o"
    ])
  })
})
