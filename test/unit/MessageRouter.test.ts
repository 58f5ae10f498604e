import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import type { Peer } from "../../src/protocol/Peer.js"
import { Asks } from "../../src/services/Asks.js"
import { Deliveries } from "../../src/services/Deliveries.js"
import { EventLog } from "../../src/services/EventLog.js"
import { MessageRouter } from "../../src/services/MessageRouter.js"
import { PeerRegistry } from "../../src/services/PeerRegistry.js"
import { makeFakeTransports } from "../support/FakeTransports.js"
import { meshLayer } from "../support/Layers.js"

/** Registers a peer and returns it as the registry sees it. */
const peer = (name: string, circle = "c") =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const registered = yield* registry.register({ name, backend: "codex", circle }, undefined)
    return Option.getOrThrow(yield* registry.get(registered.peer_id))
  })

const ask = (from: Peer, to: Peer, text: string) =>
  Effect.flatMap(MessageRouter, (r) => r.ask(from, { from_peer: from.peer_id, to_peer: to.peer_id, text }))

const deliveryEvents = (messageId: string) =>
  Effect.map(
    Effect.flatMap(EventLog, (log) => log.list({ since: 0, limit: 10_000 })),
    (events) => events.flatMap((e) => (e.type === "delivery" && e.message_id === messageId ? [e.state] : []))
  )

const direct = makeFakeTransports()

layer(meshLayer({}, direct.layer))("MessageRouter over fake transports", (it) => {
  it.effect("an ask to a live peer is pushed at once and delivered when its receipt comes", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const deliveries = yield* Deliveries
      const asks = yield* Asks
      const asker = yield* peer("live-asker")
      const target = yield* peer("live-target")
      direct.setLive(target.peer_id, true)
      const accepted = yield* ask(asker, target, "status?")
      assert.strictEqual(accepted.delivery, "delivered", "a transport took the frame")
      const [frame, ...more] = direct.framesTo(target.peer_id)
      assert.lengthOf(more, 0)
      assert.strictEqual(frame?.type, "ask")
      assert.strictEqual(frame?.type === "ask" ? frame.correlation_id : undefined, accepted.correlation_id)
      assert.strictEqual(frame?.text, "status?")
      // Handed to a socket is not yet arrived: the message waits for the agent's receipt.
      const messageId = frame!.message_id
      assert.strictEqual((yield* deliveries.get(messageId))?.state, "queued")
      assert.strictEqual((yield* asks.get(accepted.correlation_id)).state, "queued")
      yield* router.confirm(target.peer_id, messageId, "injected", undefined)
      assert.strictEqual((yield* deliveries.get(messageId))?.state, "delivered")
      assert.strictEqual((yield* asks.get(accepted.correlation_id)).state, "delivered")
      assert.deepStrictEqual(yield* deliveryEvents(messageId), ["delivered"])
      assert.lengthOf(yield* deliveries.pending(target.peer_id), 0)
    }))

  it.effect("an ask to an offline peer is queued, and pushed when the peer connects", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const deliveries = yield* Deliveries
      const asker = yield* peer("off-asker")
      const target = yield* peer("off-target")
      const accepted = yield* ask(asker, target, "later?")
      assert.strictEqual(accepted.delivery, "queued")
      assert.lengthOf(direct.framesTo(target.peer_id), 0)
      const [waiting] = yield* deliveries.pending(target.peer_id)
      assert.strictEqual(waiting?.correlation_id, accepted.correlation_id)
      direct.setLive(target.peer_id, true)
      yield* router.flush(target.peer_id)
      assert.deepStrictEqual(direct.framesTo(target.peer_id).map((f) => f.message_id), [waiting!.id])
    }))

  it.effect("a failed delivery leaves the message queued and says why", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const deliveries = yield* Deliveries
      const asks = yield* Asks
      const asker = yield* peer("fail-asker")
      const target = yield* peer("fail-target")
      direct.setLive(target.peer_id, true)
      const accepted = yield* ask(asker, target, "can you type this?")
      const messageId = direct.framesTo(target.peer_id)[0]!.message_id
      yield* router.confirm(target.peer_id, messageId, "failed", "pane is gone")
      assert.strictEqual((yield* deliveries.get(messageId))?.state, "queued")
      assert.deepStrictEqual((yield* deliveries.pending(target.peer_id)).map((m) => m.id), [messageId])
      assert.strictEqual((yield* asks.get(accepted.correlation_id)).state, "queued")
      assert.deepStrictEqual(yield* deliveryEvents(messageId), ["failed"])
    }))

  it.effect("a receipt from another peer changes nothing", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const deliveries = yield* Deliveries
      const asker = yield* peer("spoof-asker")
      const target = yield* peer("spoof-target")
      direct.setLive(target.peer_id, true)
      yield* ask(asker, target, "mine")
      const messageId = direct.framesTo(target.peer_id)[0]!.message_id
      yield* router.confirm(asker.peer_id, messageId, "received", undefined)
      assert.strictEqual((yield* deliveries.get(messageId))?.state, "queued")
      assert.deepStrictEqual(yield* deliveryEvents(messageId), [])
    }))

  it.effect("an ack reaches the asker: its reply is pushed, and a waiting asker wakes", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const asks = yield* Asks
      const asker = yield* peer("ack-asker")
      const target = yield* peer("ack-target")
      direct.setLive(asker.peer_id, true)
      direct.setLive(target.peer_id, true)
      const { correlation_id } = yield* ask(asker, target, "done?")
      const waiting = yield* Effect.fork(router.waitForAck(correlation_id, 60_000))
      yield* TestClock.adjust("10 seconds")
      const acked = yield* router.ack(target, { correlation_id, message: "yes, merged" })
      assert.strictEqual(acked.state, "acked")
      assert.strictEqual(acked.reply?.delivery, "delivered")
      const [reply, ...more] = direct.framesTo(asker.peer_id)
      assert.lengthOf(more, 0)
      assert.strictEqual(reply?.type, "notify")
      assert.strictEqual(reply?.type === "notify" ? reply.in_reply_to : undefined, correlation_id)
      assert.strictEqual(reply?.text, "yes, merged")
      assert.strictEqual(reply?.from_peer, target.peer_id)
      const answered = yield* Fiber.join(waiting)
      assert.strictEqual(answered.state, "acked", "woken by the ack, not by the timeout")
      assert.strictEqual(answered.reply, "yes, merged")
      // Acking proves the ask arrived, even though its receipt never came.
      assert.strictEqual((yield* asks.get(correlation_id)).state, "acked")
      const twice = yield* Effect.flip(router.ack(target, { correlation_id, message: "again" }))
      assert.strictEqual(twice._tag, "AlreadyAcked")
    }))

  it.effect("an ack to an asker gone offline is queued for it; only the asked peer may ack", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const deliveries = yield* Deliveries
      const asker = yield* peer("gone-asker")
      const target = yield* peer("gone-target")
      const { correlation_id } = yield* ask(asker, target, "still there?")
      const stranger = yield* Effect.flip(router.ack(asker, { correlation_id, message: "me!" }))
      assert.strictEqual(stranger._tag, "Forbidden")
      const acked = yield* router.ack(target, { correlation_id, message: "yes" })
      assert.strictEqual(acked.reply?.delivery, "queued")
      assert.lengthOf(direct.framesTo(asker.peer_id), 0)
      assert.deepStrictEqual((yield* deliveries.pending(asker.peer_id)).map((m) => m.text), ["yes"])
    }))

  it.effect("waitForAck gives up at its timeout by the clock", () =>
    Effect.gen(function*() {
      const router = yield* MessageRouter
      const asker = yield* peer("slow-asker")
      const target = yield* peer("slow-target")
      const { correlation_id } = yield* ask(asker, target, "anyone?")
      const waiting = yield* Effect.fork(router.waitForAck(correlation_id, 30_000))
      yield* TestClock.adjust("29 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)), "still waiting before the timeout")
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Fiber.join(waiting)).state, "queued")
    }))
})

const fanout = makeFakeTransports()

layer(meshLayer({ daemon: { delivery_queue: { max_per_peer: 1 } } }, fanout.layer))(
  "broadcast over fake transports",
  (it) => {
    it.effect("pushes to live peers, queues for offline ones, skips full queues, the sender and event-log readers", () =>
      Effect.gen(function*() {
        const router = yield* MessageRouter
        const deliveries = yield* Deliveries
        const registry = yield* PeerRegistry
        const sender = yield* peer("announcer", "crew")
        const online = yield* peer("online", "crew")
        const offline = yield* peer("offline", "crew")
        const full = yield* peer("full", "crew")
        const outsider = yield* peer("outsider", "elsewhere")
        yield* registry.register({ name: "me", backend: "cli", circle: "crew" }, undefined)
        for (const p of [sender, online, outsider]) fanout.setLive(p.peer_id, true)
        yield* router.notify(sender, { from_peer: sender.peer_id, to_peer: full.peer_id, text: "filler" })
        const sent = yield* router.broadcast(sender, { from_peer: sender.peer_id, text: "all hands" })
        assert.deepStrictEqual(sent.delivered, ["online"])
        assert.deepStrictEqual(sent.queued, ["offline"])
        assert.deepStrictEqual(sent.skipped, [{ name: "full", reason: "queue full" }])
        assert.deepStrictEqual(fanout.frames.map((f) => [f.peerId, f.frame.type, f.frame.text]), [
          [online.peer_id, "broadcast", "all hands"]
        ])
        assert.deepStrictEqual((yield* deliveries.pending(full.peer_id)).map((m) => m.text), ["filler"])
        assert.deepStrictEqual((yield* deliveries.pending(offline.peer_id)).map((m) => m.text), ["all hands"])
        assert.lengthOf(fanout.framesTo(outsider.peer_id), 0, "another circle hears nothing")
        assert.lengthOf(fanout.framesTo(sender.peer_id), 0, "not to itself")
      }))
  }
)
