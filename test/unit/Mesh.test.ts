import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, Stream, TestClock } from "effect"
import type { Registered } from "../../src/protocol/Peer.js"
import { Asks } from "../../src/services/Asks.js"
import { Deliveries } from "../../src/services/Deliveries.js"
import { EventLog } from "../../src/services/EventLog.js"
import { MessageRouter } from "../../src/services/MessageRouter.js"
import { PeerRegistry } from "../../src/services/PeerRegistry.js"
import { meshLayer } from "../support/Layers.js"

const register = (name: string, circle = "c", backend: "codex" | "cli" = "codex") =>
  Effect.flatMap(PeerRegistry, (r) => r.register({ name, backend, circle }, undefined))

const peerOf = (registered: Registered) =>
  Effect.flatMap(PeerRegistry, (r) => Effect.map(r.get(registered.peer_id), Option.getOrThrow))

layer(meshLayer())("PeerRegistry", (it) => {
  it.effect("suffixes display names among live peers of a circle and frees them when peers leave", () =>
    Effect.gen(function*() {
      const registry = yield* PeerRegistry
      const a = yield* register("api")
      const b = yield* register("api")
      const other = yield* register("api", "elsewhere")
      assert.deepStrictEqual([a.display_name, b.display_name, other.display_name], ["api", "api-2", "api"])
      yield* registry.remove(a.peer_id)
      const c = yield* register("api")
      assert.strictEqual(c.display_name, "api")
    }))

  it.effect("marks a silent peer offline when a request looks, not by a timer", () =>
    Effect.gen(function*() {
      const registry = yield* PeerRegistry
      const events = yield* EventLog
      const quiet = yield* register("quiet")
      assert.strictEqual((yield* peerOf(quiet)).status, "online")
      yield* TestClock.adjust("11 minutes")
      const before = yield* events.list({ since: 0, limit: 1000 })
      assert.isFalse(before.some((e) => e.type === "peer_status"), "nothing happened while nobody looked")
      const listed = yield* registry.list({})
      assert.strictEqual(listed.find((p) => p.peer_id === quiet.peer_id)?.status, "offline")
      const after = yield* events.list({ since: 0, limit: 1000 })
      const change = after.find((e) => e.type === "peer_status")
      assert.strictEqual(change?.type === "peer_status" ? change.status : undefined, "offline")
      yield* TestClock.adjust("25 hours")
      assert.isUndefined((yield* registry.list({})).find((p) => p.peer_id === quiet.peer_id), "forgotten by default")
      assert.isDefined((yield* registry.list({ all: true })).find((p) => p.peer_id === quiet.peer_id))
    }))

  it.effect("resolves by id or name; agents see only their circle; humans see all, ambiguously", () =>
    Effect.gen(function*() {
      const registry = yield* PeerRegistry
      const x = yield* register("x", "one")
      const y = yield* register("y", "two")
      yield* register("y", "one")
      const viewer = yield* peerOf(x)
      assert.strictEqual((yield* registry.resolve("y", viewer)).circle, "one")
      const crossing = yield* Effect.flip(registry.resolve(y.peer_id, viewer))
      assert.strictEqual(crossing._tag, "Forbidden")
      const human = { role: "human" as const, circle: "default" }
      const ambiguous = yield* Effect.flip(registry.resolve("y", human))
      assert.strictEqual(ambiguous._tag, "AmbiguousPeer")
      assert.strictEqual((yield* registry.resolve("y", human, "two")).peer_id, y.peer_id)
      const missing = yield* Effect.flip(registry.resolve("zed", viewer))
      assert.strictEqual(missing._tag, "PeerNotFound")
    }))
})

describe("MessageRouter", () => {
  layer(meshLayer({ daemon: { delivery_queue: { max_per_peer: 3 } } }))("with a queue bound of 3", (it) => {
    it.effect("refuses a message past the per-peer queue bound and changes nothing", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const events = yield* EventLog
        const deliveries = yield* Deliveries
        const asks = yield* Asks
        const sender = yield* peerOf(yield* register("sender"))
        const inbox = yield* register("inbox")
        const sent = []
        for (const n of [1, 2, 3]) {
          sent.push(yield* router.notify(sender, { from_peer: "sender", to_peer: "inbox", text: `m${n}` }))
        }
        assert.deepStrictEqual(sent.map((m) => m.delivery), ["queued", "queued", "queued"])
        const first = sent[0]!
        const before = (yield* events.list({ since: 0, limit: 1000 })).length
        const full = yield* Effect.flip(router.notify(sender, { from_peer: "sender", to_peer: "inbox", text: "m4" }))
        assert.strictEqual(full._tag, "QueueFull")
        const fullAsk = yield* Effect.flip(router.ask(sender, { from_peer: "sender", to_peer: "inbox", text: "q?" }))
        assert.strictEqual(fullAsk._tag, "QueueFull")
        assert.strictEqual((yield* events.list({ since: 0, limit: 1000 })).length, before)
        assert.deepStrictEqual((yield* deliveries.pending(inbox.peer_id)).map((m) => m.text), ["m1", "m2", "m3"])
        assert.deepStrictEqual(yield* asks.list({}), [], "the refused ask is not tracked")
        // Room counts queued messages only: one delivered frees a place.
        yield* deliveries.markDelivered(first.id, inbox.peer_id)
        const next = yield* router.notify(sender, { from_peer: "sender", to_peer: "inbox", text: "m5" })
        assert.strictEqual(next.delivery, "queued")
      }))
  })

  layer(meshLayer({ daemon: { delivery_queue: { max_per_peer: 2 } } }))("with a queue bound of 2", (it) => {
    it.effect("a broadcast skips a recipient whose queue is full and reaches the others", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const deliveries = yield* Deliveries
        const sender = yield* peerOf(yield* register("sender"))
        const full = yield* register("full")
        const roomy = yield* register("roomy")
        for (const n of [1, 2]) yield* router.notify(sender, { from_peer: "sender", to_peer: "full", text: `m${n}` })
        const sent = yield* router.broadcast(sender, { from_peer: "sender", text: "all hands" })
        assert.deepStrictEqual(sent.skipped, [{ name: "full", reason: "queue full" }])
        assert.deepStrictEqual(sent.queued, ["roomy"])
        assert.deepStrictEqual((yield* deliveries.pending(full.peer_id)).map((m) => m.text), ["m1", "m2"])
        assert.deepStrictEqual((yield* deliveries.pending(roomy.peer_id)).map((m) => m.text), ["all hands"])
      }))
  })

  layer(meshLayer({ daemon: { delivery_queue: { ttl: "1h" } } }))("with a TTL of an hour", (it) => {
    it.effect("queued messages expire after their TTL", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const deliveries = yield* Deliveries
        const sender = yield* peerOf(yield* register("sender"))
        const inbox = yield* register("inbox")
        const stale = yield* router.notify(sender, { from_peer: "sender", to_peer: "inbox", text: "soon stale" })
        assert.strictEqual((yield* deliveries.pending(inbox.peer_id)).length, 1)
        yield* TestClock.adjust("2 hours")
        assert.strictEqual((yield* deliveries.pending(inbox.peer_id)).length, 0)
        // The next write marks it expired; the new message waits in its place.
        const fresh = yield* router.notify(sender, { from_peer: "sender", to_peer: "inbox", text: "fresh" })
        assert.strictEqual((yield* deliveries.get(stale.id))?.state, "expired")
        assert.strictEqual((yield* deliveries.get(fresh.id))?.state, "queued")
        assert.deepStrictEqual((yield* deliveries.pending(inbox.peer_id)).map((m) => m.text), ["fresh"])
      }))
  })

  layer(meshLayer())("with the defaults", (it) => {
    it.effect("messages to CLI peers count as delivered at once: they read the event log", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const sender = yield* peerOf(yield* register("agent"))
        yield* register("me", "c", "cli")
        const sent = yield* router.notify(sender, { from_peer: "agent", to_peer: "me", text: "done" })
        assert.strictEqual(sent.delivery, "delivered")
      }))

    it.effect("receipts that arrive together are all recorded, each by its own recipient only", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const deliveries = yield* Deliveries
        const events = yield* EventLog
        const asks = yield* Asks
        const sender = yield* peerOf(yield* register("announcer", "crowd"))
        const members = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => `m${i}`),
          (n) => register(n, "crowd")
        )
        const sent = yield* router.broadcast(sender, { from_peer: "announcer", text: "all hands" })
        assert.strictEqual(sent.queued.length, 30)
        const { correlation_id } = yield* router.ask(sender, { from_peer: "announcer", to_peer: "m0", text: "you?" })
        const pending = yield* Effect.forEach(
          members,
          (m) => Effect.map(deliveries.pending(m.peer_id), (ms) => [m, ms] as const)
        )
        const eventsBefore = (yield* events.list({ since: 0, limit: 1000 })).length
        // A peer's receipt for someone else's message changes nothing.
        const [first, firstMessages] = pending[0]!
        yield* router.confirm(members[1]!.peer_id, firstMessages[0]!.id, "received", undefined)
        assert.strictEqual((yield* deliveries.pending(first.peer_id)).length, 2)
        yield* Effect.all(
          pending.flatMap(([m, ms]) =>
            ms.map((message) => router.confirm(m.peer_id, message.id, "received", undefined))
          ),
          { concurrency: "unbounded", discard: true }
        )
        for (const m of members) assert.strictEqual((yield* deliveries.pending(m.peer_id)).length, 0)
        assert.strictEqual((yield* asks.get(correlation_id)).state, "delivered")
        const added = (yield* events.list({ since: 0, limit: 1000 })).slice(eventsBefore)
        assert.deepStrictEqual(added.map((e) => e.type), ["delivery"])
      }))

    it.effect("waitForAck returns the open ask when the timeout passes", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const asker = yield* peerOf(yield* register("asker"))
        yield* register("busy")
        const { correlation_id } = yield* router.ask(asker, { from_peer: "asker", to_peer: "busy", text: "?" })
        const waiting = yield* Effect.fork(router.waitForAck(correlation_id, 30_000))
        yield* TestClock.adjust("31 seconds")
        const ask = yield* Fiber.join(waiting)
        assert.strictEqual(ask.state, "queued")
      }))
  })
})

layer(meshLayer())("EventLog.follow", (it) => {
  it.scoped("replays the backlog, then live events, once each and in order", () =>
    Effect.gen(function*() {
      const log = yield* EventLog
      const router = yield* MessageRouter
      const sender = yield* peerOf(yield* register("s"))
      yield* register("r")
      yield* router.notify(sender, { from_peer: "s", to_peer: "r", text: "before" })
      const stream = yield* log.follow(0)
      const collecting = yield* Effect.fork(Stream.runCollect(Stream.take(stream, 5)))
      yield* router.notify(sender, { from_peer: "s", to_peer: "r", text: "after 1" })
      yield* router.notify(sender, { from_peer: "s", to_peer: "r", text: "after 2" })
      const events = Chunk.toReadonlyArray(yield* Fiber.join(collecting))
      assert.deepStrictEqual(events.map((e) => e.id), [1, 2, 3, 4, 5])
      assert.deepStrictEqual(
        events.flatMap((e) => (e.type === "notify" ? [e.text] : [])),
        ["before", "after 1", "after 2"]
      )
    }))
})
