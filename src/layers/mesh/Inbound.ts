import { Effect, Either, Option } from "effect"
import type { MeshMessage, OutboxItem } from "../../protocol/MeshWire.js"
import type { Peer } from "../../protocol/Peer.js"
import type { Asks } from "../../services/Asks.js"
import type { Database } from "../../services/Database.js"
import type { Deliveries } from "../../services/Deliveries.js"
import type { MessageRouter } from "../../services/MessageRouter.js"
import type { PeerRegistry } from "../../services/PeerRegistry.js"
import { Tunnelled } from "../../services/RequestContext.js"
import type { MeshStore } from "./MeshStore.js"

type Deliver = Extract<MeshMessage, { t: "deliver" }>

export interface InboundDeps {
  readonly db: Database["Type"]
  readonly store: MeshStore
  readonly registry: PeerRegistry["Type"]
  readonly router: MessageRouter["Type"]
  readonly deliveries: Deliveries["Type"]
  readonly asks: Asks["Type"]
  readonly machine: string
}

/**
 * What a linked daemon sends: messages for this daemon's peers (taken once each, by the
 * origin's message id), and the receipts and acks it owes for messages sent from here.
 * Whatever names a peer must name one of the right machine: a linked daemon speaks only for
 * its own peers and reaches only this daemon's.
 */
export const makeInbound = (deps: InboundDeps) => {
  const { asks, db, deliveries, registry, router, store } = deps

  /** A peer of linked machine `origin`, or nothing. */
  const remotePeer = (origin: string, peerId: string) =>
    Effect.map(registry.get(peerId), Option.filter((p: Peer) => p.machine === origin && p.machine !== deps.machine))
  const localPeer = (peerId: string) =>
    Effect.map(registry.get(peerId), Option.filter((p: Peer) => p.machine === deps.machine))

  /** Whether what came in as `row` has reached its agent here (so a receipt is owed). */
  const reachedNow = (localMessageId: string | null, localCorrelationId: string | null) =>
    Effect.gen(function*() {
      if (localCorrelationId !== null) {
        const ask = asks.getNow(localCorrelationId)
        return Either.isRight(ask) && ask.right.state !== "queued"
      }
      if (localMessageId === null) return false
      const message = yield* deliveries.get(localMessageId)
      return message !== undefined && message.state !== "queued"
    })

  const deliver = (origin: string, { frame, to_peer }: Deliver) =>
    Effect.gen(function*() {
      const existing = store.inbound(origin, frame.message_id)
      if (existing !== undefined) {
        if (yield* reachedNow(existing.local_message_id, existing.local_correlation_id)) {
          store.queueOut(origin, `receipt:${frame.message_id}`, {
            k: "receipt",
            message_id: frame.message_id,
            to_peer: to_peer
          }, Date.now())
        }
        return
      }
      // A reply travels inside its ack (the origin's "out" item), never as a message of its own.
      if (frame.type === "notify" && frame.in_reply_to !== null) return
      const sender = yield* remotePeer(origin, frame.from_peer)
      const target = yield* localPeer(to_peer)
      if (Option.isNone(sender) || Option.isNone(target)) return
      const at = Date.now()
      db.now.transaction(() => {
        const request = { from_peer: sender.value.peer_id, to_peer: target.value.peer_id, text: frame.text }
        if (frame.type === "ask") {
          const accepted = router.askNow(sender.value, request, at, "relay")
          if (Either.isLeft(accepted)) return
          store.insertInbound({
            origin,
            message_id: frame.message_id,
            local_message_id: null,
            origin_correlation_id: frame.correlation_id,
            local_correlation_id: accepted.right.correlation_id
          })
        } else {
          const accepted = router.notifyNow(sender.value, request, at, "relay")
          if (Either.isLeft(accepted)) return
          store.insertInbound({
            origin,
            message_id: frame.message_id,
            local_message_id: accepted.right.id,
            origin_correlation_id: null,
            local_correlation_id: null
          })
        }
      })
    })

  /** An item the other daemon owed this one; true once it is taken (or can never be). */
  const owed = (origin: string, item: OutboxItem) =>
    Effect.gen(function*() {
      if (item.k === "receipt") {
        const peer = yield* remotePeer(origin, item.to_peer)
        if (Option.isSome(peer)) yield* router.confirm(item.to_peer, item.message_id, "received", `reached ${origin}`)
        return
      }
      const acker = yield* remotePeer(origin, item.from_peer)
      if (Option.isNone(acker)) return
      yield* router.ack(acker.value, {
        correlation_id: item.correlation_id,
        ...(item.reply === null ? {} : { message: item.reply })
      }).pipe(Effect.provideService(Tunnelled, true), Effect.ignore)
    })

  return { deliver, owed }
}
