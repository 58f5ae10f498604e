import { Clock, Effect, Either, Option } from "effect"
import type { AttachmentRef } from "../../protocol/Attachment.js"
import { ackWithoutFiles, type MeshMessage, type OutboxItem, replyFilesId } from "../../protocol/MeshWire.js"
import type { Peer } from "../../protocol/Peer.js"
import type { Asks } from "../../services/Asks.js"
import type { Attachments } from "../../services/Attachments.js"
import type { Database } from "../../services/Database.js"
import type { Deliveries } from "../../services/Deliveries.js"
import type { MessageRouter } from "../../services/MessageRouter.js"
import type { PeerRegistry } from "../../services/PeerRegistry.js"
import { Tunnelled } from "../../services/RequestContext.js"
import type { FilesIn } from "./FilesIn.js"
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
  readonly attachments: Attachments["Type"]
  readonly files: FilesIn
  /** Sends what this daemon owes `origin` now (a refusal was just queued). */
  readonly owe: (origin: string) => void
  /** Tells `origin` its message reached its agent here (not kept: see ReceiptMessage). */
  readonly receipt: (origin: string, messageId: string, toPeer: string) => void
}

/**
 * What a linked daemon sends: messages for this daemon's peers (taken once each, by the
 * origin's message id, with their files; or refused for good, under this daemon's access
 * rules and limits), and the receipts, acks and refusals it owes for messages sent from here.
 * Whatever names a peer must name one of the right machine: a linked daemon speaks only for
 * its own peers and reaches only this daemon's.
 */
export const makeInbound = (deps: InboundDeps) => {
  const { asks, db, deliveries, registry, router, store } = deps

  /** A peer of linked machine `origin`, or nothing. */
  const remotePeerNow = (origin: string, peerId: string, now: number) =>
    Option.filter(registry.getNow(peerId, now), (p) => p.machine === origin && p.machine !== deps.machine)
  const localPeerNow = (peerId: string, now: number) =>
    Option.filter(registry.getNow(peerId, now), (p) => p.machine === deps.machine)
  const remotePeer = (origin: string, peerId: string) =>
    Effect.map(Clock.currentTimeMillis, (now) => remotePeerNow(origin, peerId, now))
  const localPeer = (peerId: string) => Effect.map(Clock.currentTimeMillis, (now) => localPeerNow(peerId, now))

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

  /**
   * A message this daemon will never take: remembered as taken (a redelivery changes nothing)
   * and owed back as refused, so the sender fails it instead of keeping it queued.
   */
  const refuse = (origin: string, { frame, to_peer }: Deliver, reason: string) =>
    // Files that came ahead of it and were not taken yet go (once taken, nothing is left to discard).
    Effect.zipRight(
      deps.files.discard(origin, frame),
      Effect.sync(() => {
        db.now.transaction(() => {
          store.insertInbound({
            origin,
            message_id: frame.message_id,
            local_message_id: null,
            origin_correlation_id: frame.type === "ask" ? frame.correlation_id : null,
            local_correlation_id: null
          })
          store.queueOut(origin, `refused:${frame.message_id}`, {
            k: "refused",
            message_id: frame.message_id,
            to_peer,
            reason: reason.slice(0, 1000)
          }, Date.now())
        })
        deps.owe(origin)
      })
    )

  /** Stores a message of `origin` in this daemon's queue, with what it came as, in one transaction. */
  const takeNow = (
    origin: string,
    frame: Deliver["frame"],
    sender: Peer,
    target: Peer,
    refs: ReadonlyArray<AttachmentRef>,
    at: number
  ) => {
    const request = {
      from_peer: sender.peer_id,
      to_peer: target.peer_id,
      text: frame.text,
      ...(refs.length === 0 ? {} : { attachments: refs.map((r) => r.id) })
    }
    return db.now.transaction((): Either.Either<void, { readonly _tag: string; readonly message: string }> => {
      if (frame.type === "ask") {
        const accepted = router.askNow(sender, request, at, "relay")
        if (Either.isLeft(accepted)) return Either.left(accepted.left)
        store.insertInbound({
          origin,
          message_id: frame.message_id,
          local_message_id: null,
          origin_correlation_id: frame.correlation_id,
          local_correlation_id: accepted.right.correlation_id
        })
        return Either.void
      }
      const accepted = router.notifyNow(sender, request, at, "relay", frame.type)
      if (Either.isLeft(accepted)) return Either.left(accepted.left)
      store.insertInbound({
        origin,
        message_id: frame.message_id,
        local_message_id: accepted.right.id,
        origin_correlation_id: null,
        local_correlation_id: null
      })
      return Either.void
    })
  }

  /**
   * The usual message (new, without files, between known peers) taken with plain synchronous
   * steps and no fiber: it is on every cross-machine message's path. Anything else (a message
   * seen before, files, a refusal) is left to the effect this returns.
   */
  const deliverNow = (origin: string, message: Deliver): Effect.Effect<void> | undefined => {
    const { frame, to_peer } = message
    if (frame.attachments.length > 0 || store.inbound(origin, frame.message_id) !== undefined) {
      return deliver(origin, message)
    }
    if (frame.type === "notify" && frame.in_reply_to !== null) return undefined
    const at = Date.now()
    const sender = remotePeerNow(origin, frame.from_peer, at)
    const target = localPeerNow(to_peer, at)
    if (Option.isNone(sender) || Option.isNone(target)) return deliver(origin, message)
    const taken = takeNow(origin, frame, sender.value, target.value, [], at)
    return Either.isRight(taken) ? undefined : refuse(origin, message, `${taken.left._tag}: ${taken.left.message}`)
  }

  const deliver = (origin: string, message: Deliver) =>
    Effect.gen(function*() {
      const { frame, to_peer } = message
      const existing = store.inbound(origin, frame.message_id)
      if (existing !== undefined) {
        yield* deps.files.discard(origin, frame)
        // Its receipt was lost (a session broke, or this daemon stopped before sending it): again.
        if (yield* reachedNow(existing.local_message_id, existing.local_correlation_id)) {
          deps.receipt(origin, frame.message_id, to_peer)
        }
        return
      }
      // A reply travels inside its ack (the origin's "out" item), never as a message of its own.
      if (frame.type === "notify" && frame.in_reply_to !== null) return
      const sender = yield* remotePeer(origin, frame.from_peer)
      if (Option.isNone(sender)) {
        return yield* refuse(
          origin,
          message,
          `PeerNotFound: ${frame.from_name} of ${origin} is unknown on ${deps.machine}`
        )
      }
      const target = yield* localPeer(to_peer)
      if (Option.isNone(target)) {
        return yield* refuse(origin, message, `PeerNotFound: no peer ${to_peer} on ${deps.machine}`)
      }
      let refs: ReadonlyArray<AttachmentRef> = []
      if (frame.attachments.length > 0) {
        const taken = yield* deps.files.take(origin, frame)
        // Parts lost on the way: no receipt, so the sender sends it all again in its next session.
        if (taken._tag === "incomplete") return
        if (taken._tag === "refused") return yield* refuse(origin, message, taken.reason)
        refs = taken.refs
      }
      const taken = takeNow(origin, frame, sender.value, target.value, refs, Date.now())
      if (Either.isRight(taken)) return
      yield* deps.attachments.remove(refs.map((r) => r.id))
      yield* refuse(origin, message, `${taken.left._tag}: ${taken.left.message}`)
    })

  /**
   * A message of this daemon's reached its agent on `origin` (said again, it changes nothing):
   * recorded with the next batch of receipts, with no fiber of its own.
   */
  const receiptNow = (origin: string, item: { readonly message_id: string; readonly to_peer: string }) => {
    if (Option.isSome(remotePeerNow(origin, item.to_peer, Date.now()))) {
      router.confirmNow(item.to_peer, item.message_id, "received", `reached ${origin}`)
    }
  }

  /**
   * An item the other daemon owed this one; true once it is taken (or can never be), false
   * when a reply's files came incomplete (a broken session: the next one sends it all again).
   */
  const owed = (origin: string, item: OutboxItem): Effect.Effect<boolean> =>
    Effect.gen(function*() {
      if (item.k === "receipt") {
        receiptNow(origin, item)
        return true
      }
      if (item.k === "refused") {
        const peer = yield* remotePeer(origin, item.to_peer)
        if (Option.isSome(peer)) {
          yield* router.fail(item.to_peer, item.message_id, `${origin} refused it: ${item.reason}`)
        }
        return true
      }
      const files = { message_id: replyFilesId(item.correlation_id), attachments: item.attachments ?? [] }
      const acker = yield* remotePeer(origin, item.from_peer)
      const question = asks.getNow(item.correlation_id)
      // Not an ask of ours, or acked already (this ack came again): whatever came of its files goes.
      if (Option.isNone(acker) || Either.isLeft(question) || question.right.state === "acked") {
        yield* deps.files.discard(origin, files)
        return true
      }
      let ack = item
      let attachments: ReadonlyArray<string> = []
      if (files.attachments.length > 0) {
        const taken = yield* deps.files.take(origin, files)
        if (taken._tag === "incomplete") return false
        if (taken._tag === "refused") ack = ackWithoutFiles(item, `${taken.reason} (on ${deps.machine})`)
        else attachments = taken.refs.map((r) => r.id)
      }
      const acked = yield* router.ack(acker.value, {
        correlation_id: ack.correlation_id,
        ...(ack.reply === null ? {} : { message: ack.reply }),
        ...(attachments.length === 0 ? {} : { attachments })
      }).pipe(Effect.provideService(Tunnelled, true), Effect.either)
      // Refused here (an access rule, say): the files it brought are not kept.
      if (Either.isLeft(acked)) yield* deps.attachments.remove(attachments)
      return true
    })

  return { deliver, deliverNow, owed, receiptNow }
}
