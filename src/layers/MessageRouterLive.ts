import { Clock, Deferred, Duration, Effect, Either, Layer, PubSub, Queue, Stream } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import { Forbidden, QueueFull } from "../protocol/Errors.js"
import type { MeshEvent, NewMeshEvent } from "../protocol/MeshEvent.js"
import type {
  AckRequest,
  AskRequest,
  BroadcastRequest,
  Delivery,
  Message,
  NotifyRequest
} from "../protocol/Message.js"
import type { Peer } from "../protocol/Peer.js"
import { Policy, type Via } from "../services/Policy.js"
import { Tunnelled } from "../services/RequestContext.js"
import { Asks } from "../services/Asks.js"
import { Attachments } from "../services/Attachments.js"
import { Database } from "../services/Database.js"
import { Deliveries } from "../services/Deliveries.js"
import { EventLog } from "../services/EventLog.js"
import { Ids } from "../services/Ids.js"
import { MessageRouter } from "../services/MessageRouter.js"
import { PeerRegistry } from "../services/PeerRegistry.js"
import { Transports } from "../services/Transports.js"
import { frameOf } from "./Frames.js"
import { reachesCircle } from "./Reach.js"
import { callerOf, makeGate } from "./policy/Gate.js"

interface Receipt {
  readonly peerId: string
  readonly messageId: string
  readonly outcome: "injected" | "received" | "failed"
  readonly detail: string | undefined
  readonly done: Deferred.Deferred<void>
}

const MAX_RECEIPTS_PER_BATCH = 1000

/** Resumes once the event loop has run the I/O callbacks already due: a burst of frames lands in one batch. */
const afterPendingIo = Effect.async<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

/** Peers whose inbox is the event log itself (the dashboard page, the CLI): delivered at once. */
const readsEventLog = (peer: Peer) => peer.backend === "dashboard" || peer.backend === "cli"

export const MessageRouterLive = Layer.scoped(
  MessageRouter,
  Effect.gen(function*() {
    const db = yield* Database
    const registry = yield* PeerRegistry
    const deliveries = yield* Deliveries
    const asks = yield* Asks
    const events = yield* EventLog
    const transports = yield* Transports
    const attachments = yield* Attachments
    const ids = yield* Ids
    const gate = makeGate(yield* Policy, events)
    const viaOf = Effect.map(Tunnelled, (tunnelled): Via => (tunnelled ? "relay" : "local"))
    const acked = yield* Effect.acquireRelease(PubSub.unbounded<string>(), PubSub.shutdown)

    const checkSender = (sender: Peer, fromPeer: string): Either.Either<void, Forbidden> =>
      fromPeer === sender.peer_id || fromPeer === sender.display_name
        ? Either.void
        : Either.left(
          new Forbidden({
            message: `from_peer \`${fromPeer}\` is not the caller (${sender.display_name}): a peer sends only as itself`
          })
        )

    /** Writes, appends events, commits — then makes the events live. */
    const commit = <A, E>(work: Effect.Effect<readonly [A, ReadonlyArray<MeshEvent>], E>) =>
      db.transaction(work).pipe(
        Effect.tap(([, appended]) => events.publish(appended)),
        Effect.map(([result]) => result)
      )

    /** An ask's message reached its target: its ask (found by its key) is delivered too. */
    const askDeliveredNow = (message: Message) => {
      if (message.kind === "ask" && message.correlation_id !== null) asks.markDeliveredNow(message.correlation_id)
    }

    /** Hands a stored message to its recipient's live transport, if there is one. */
    const pushNow = (message: Message, recipient: Peer): Delivery => {
      if (readsEventLog(recipient)) {
        deliveries.markDeliveredNow(message.id, message.to_peer)
        askDeliveredNow(message)
        return "delivered"
      }
      return transports.deliverNow(message.to_peer, frameOf(message)) ? "delivered" : "queued"
    }

    const draft = (
      kind: Message["kind"],
      sender: Peer,
      recipient: { readonly peer_id: string; readonly display_name: string; readonly circle: string },
      text: string,
      refs: ReadonlyArray<AttachmentRef>,
      at: number,
      extra: { readonly correlation_id?: string | null; readonly reply_to?: string | null } = {}
    ): Omit<Message, "state"> => ({
      id: ids.next("msg"),
      kind,
      from_peer: sender.peer_id,
      from_name: sender.display_name,
      to_peer: recipient.peer_id,
      to_name: recipient.display_name,
      circle: recipient.circle,
      text,
      correlation_id: extra.correlation_id ?? null,
      reply_to: extra.reply_to ?? null,
      attachments: refs,
      created_at: new Date(at).toISOString()
    })

    const noRefs = Either.right<ReadonlyArray<AttachmentRef>>([])
    const resolveRefs = (attachmentIds: ReadonlyArray<string> | undefined, at: number) =>
      attachmentIds === undefined || attachmentIds.length === 0 ? noRefs : attachments.resolveNow(attachmentIds, at)

    /**
     * One message, what else it needs written, and its event, in one synchronous transaction,
     * then published. Nothing is written when the queue is full.
     */
    const store = (
      message: Omit<Message, "state">,
      alsoWrite: () => void,
      event: NewMeshEvent,
      at: number
    ): Either.Either<void, QueueFull> => {
      const outcome = db.now.transaction((): QueueFull | MeshEvent => {
        const full = deliveries.enqueueNow(message, at)
        if (full !== undefined) return full
        alsoWrite()
        return events.appendNow(event, at)
      })
      if (outcome instanceof QueueFull) return Either.left(outcome)
      events.publishNow([outcome])
      return Either.void
    }

    /** The ask's message, its tracking row and its event. */
    const storeAsk = (message: Omit<Message, "state">, correlationId: string, at: number) =>
      store(message, () =>
        asks.createNow({
          correlation_id: correlationId,
          message_id: message.id,
          from_peer: message.from_peer,
          from_name: message.from_name,
          to_peer: message.to_peer,
          to_name: message.to_name,
          circle: message.circle,
          text: message.text,
          reply_to: message.reply_to,
          attachments: message.attachments,
          created_at: message.created_at
        }), {
        type: "ask",
        circle: message.circle,
        correlation_id: correlationId,
        from_peer: message.from_peer,
        from_name: message.from_name,
        to_peer: message.to_peer,
        to_name: message.to_name,
        text: message.text,
        reply_to: message.reply_to,
        attachments: message.attachments
      }, at)

    /** A plain sequence of synchronous steps: the hot path runs it with no fiber of its own. */
    const askNow = (sender: Peer, request: AskRequest, at: number, via: Via = "local") =>
      Either.gen(function*() {
        yield* checkSender(sender, request.from_peer)
        const target = yield* registry.resolveNow(request.to_peer, sender, request.circle, at)
        yield* gate.sendNow(callerOf(sender, via), "ask", target, (request.attachments?.length ?? 0) > 0, at)
        if (request.reply_to !== undefined) yield* asks.getNow(request.reply_to)
        const refs = yield* resolveRefs(request.attachments, at)
        const correlationId = ids.next("ask")
        const message = draft("ask", sender, target, request.text, refs, at, {
          correlation_id: correlationId,
          reply_to: request.reply_to ?? null
        })
        yield* storeAsk(message, correlationId, at)
        const delivery = pushNow({ ...message, state: "queued" }, target)
        return { correlation_id: correlationId, delivery }
      })

    const ack = Effect.fnUntraced(function*(sender: Peer, request: AckRequest) {
      const question = yield* asks.get(request.correlation_id)
      if (question.to_peer !== sender.peer_id) {
        return yield* new Forbidden({
          message: `${request.correlation_id} was asked of ${question.to_name}; only that peer can ack it`
        })
      }
      const at = yield* Clock.currentTimeMillis
      const asker = yield* registry.get(question.from_peer)
      const askedBy = asker._tag === "Some"
        ? asker.value
        : { peer_id: question.from_peer, display_name: question.from_name, circle: question.circle, backend: "", role: "", machine: "" }
      yield* gate.sendNow(callerOf(sender, yield* viaOf), "ack", askedBy, (request.attachments?.length ?? 0) > 0, at)
      const refs = yield* resolveRefs(request.attachments, at)
      const replyText = request.message ?? null
      const reply = replyText === null && refs.length === 0
        ? undefined
        : draft("reply", sender, {
          peer_id: question.from_peer,
          display_name: question.from_name,
          circle: question.circle
        }, replyText ?? "(attachments)", refs, at, { correlation_id: question.correlation_id })
      yield* commit(Effect.gen(function*() {
        const { messageId } = yield* asks.ack(question.correlation_id, replyText, refs)
        // Acking an ask proves it arrived, even if its receipt never did.
        yield* deliveries.markDelivered(messageId, sender.peer_id)
        if (reply !== undefined) yield* deliveries.enqueue(reply)
        const event = yield* events.append({
          type: "ack",
          circle: question.circle,
          correlation_id: question.correlation_id,
          from_peer: sender.peer_id,
          from_name: sender.display_name,
          to_peer: question.from_peer,
          to_name: question.from_name,
          reply: replyText,
          attachments: refs
        })
        return [undefined, [event]] as const
      }))
      yield* PubSub.publish(acked, question.correlation_id)
      if (reply === undefined) return { correlation_id: question.correlation_id, state: "acked" as const, reply: null }
      const delivery = asker._tag === "Some" ? pushNow({ ...reply, state: "queued" }, asker.value) : "queued" as const
      return { correlation_id: question.correlation_id, state: "acked" as const, reply: { id: reply.id, delivery } }
    })

    const notifyNow = (sender: Peer, request: NotifyRequest, at: number, via: Via = "local") =>
      Either.gen(function*() {
        yield* checkSender(sender, request.from_peer)
        const target = yield* registry.resolveNow(request.to_peer, sender, request.circle, at)
        yield* gate.sendNow(callerOf(sender, via), "notify", target, (request.attachments?.length ?? 0) > 0, at)
        const refs = yield* resolveRefs(request.attachments, at)
        const message = draft("notify", sender, target, request.text, refs, at)
        yield* store(message, () => {}, {
          type: "notify",
          circle: message.circle,
          message_id: message.id,
          from_peer: message.from_peer,
          from_name: message.from_name,
          to_peer: message.to_peer,
          to_name: message.to_name,
          text: message.text,
          attachments: refs
        }, at)
        return { id: message.id, delivery: pushNow({ ...message, state: "queued" }, target) }
      })

    const broadcast = Effect.fnUntraced(function*(sender: Peer, request: BroadcastRequest) {
      yield* checkSender(sender, request.from_peer)
      if (request.circle !== undefined && !reachesCircle(sender, request.circle)) {
        return yield* new Forbidden({ message: `agents broadcast only to their own circle (${sender.circle})` })
      }
      const circle = request.circle ?? sender.circle
      const at = yield* Clock.currentTimeMillis
      const caller = callerOf(sender, yield* viaOf)
      const withAttachments = (request.attachments?.length ?? 0) > 0
      // A rule that denies the broadcast itself (not one recipient) refuses it whole.
      const whole = gate.ruleDeniesNow({ caller, action: "broadcast", target: undefined })
      if (whole !== undefined) return yield* gate.record({ caller, action: "broadcast", target: undefined }, whole, at)
      const refs = yield* resolveRefs(request.attachments, at)
      const { allowed: recipients, skipped: denied } = gate.recipientsNow(
        caller,
        (yield* registry.list({ circle })).filter((p) => p.peer_id !== sender.peer_id && !readsEventLog(p)),
        withAttachments,
        at
      )
      const broadcastId = ids.next("msg")
      const drafts = recipients.map((recipient) => draft("broadcast", sender, recipient, request.text, refs, at))
      const [skipped, accepted] = yield* commit(Effect.gen(function*() {
        const full = new Set((yield* deliveries.enqueueWhereRoom(drafts)).map((m) => m.id))
        const stored = drafts.filter((m) => !full.has(m.id))
        const event = yield* events.append({
          type: "broadcast",
          circle,
          message_id: broadcastId,
          from_peer: sender.peer_id,
          from_name: sender.display_name,
          text: request.text,
          recipients: stored.map((m) => m.to_name),
          attachments: refs
        })
        const queueFull = drafts.filter((m) => full.has(m.id)).map((m) => ({ name: m.to_name, reason: "queue full" }))
        return [[queueFull, stored] as const, [event]] as const
      }))
      // One synchronous pass: every frame is out before any recipient's receipt is read.
      const handed = yield* transports.deliverAll(
        accepted.map((message) => [message.to_peer, frameOf({ ...message, state: "queued" })] as const)
      )
      const delivered = accepted.filter((_, i) => handed[i]).map((m) => m.to_name)
      const queued = accepted.filter((_, i) => !handed[i]).map((m) => m.to_name)
      return { id: broadcastId, delivered, queued, skipped: [...skipped, ...denied] }
    })

    const flush = Effect.fnUntraced(function*(peerId: string) {
      const pending = yield* deliveries.pending(peerId)
      for (const message of pending) {
        if (!(yield* transports.deliver(peerId, frameOf(message)))) return
      }
    })

    /** Records one receipt inside the batch's transaction; returns the event it makes, if any. */
    const record = Effect.fnUntraced(function*(receipt: Receipt) {
      const { detail, messageId, outcome, peerId } = receipt
      const message = outcome === "failed"
        ? yield* deliveries.get(messageId)
        : yield* deliveries.markDelivered(messageId, peerId)
      if (message === undefined || message.to_peer !== peerId) return []
      if (outcome !== "failed") askDeliveredNow(message)
      // A broadcast's per-recipient receipts would flood the log; its event lists the recipients.
      if (message.kind === "broadcast" && outcome !== "failed") return []
      return [
        yield* events.append({
          type: "delivery",
          circle: message.circle,
          message_id: message.id,
          correlation_id: message.correlation_id,
          to_peer: message.to_peer,
          to_name: message.to_name,
          state: outcome === "failed" ? "failed" : "delivered",
          detail: detail ?? (outcome === "injected" ? "typed into the session" : null)
        })
      ]
    })

    /**
     * Receipts arrive in bursts (a broadcast's recipients all confirm at once): they are
     * written in one transaction per burst, and each confirm returns once its batch commits.
     */
    const receipts = yield* Effect.acquireRelease(Queue.unbounded<Receipt>(), Queue.shutdown)
    yield* Effect.gen(function*() {
      const first = yield* Queue.take(receipts)
      yield* afterPendingIo
      const batch = [first, ...yield* Queue.takeUpTo(receipts, MAX_RECEIPTS_PER_BATCH - 1)]
      const exit = yield* Effect.exit(commit(
        Effect.map(Effect.forEach(batch, record), (made) => [undefined, made.flat()] as const)
      ))
      yield* Effect.forEach(batch, (receipt) => Deferred.done(receipt.done, exit), { discard: true })
    }).pipe(Effect.forever, Effect.forkScoped)

    const confirm = (
      peerId: string,
      messageId: string,
      outcome: "injected" | "received" | "failed",
      detail: string | undefined
    ) =>
      Effect.flatMap(Deferred.make<void>(), (done) =>
        Queue.offer(receipts, { peerId, messageId, outcome, detail, done }).pipe(
          Effect.zipRight(Deferred.await(done))
        ))

    const waitForAck = Effect.fn("MessageRouter.waitForAck")(function*(correlationId: string, timeoutMs: number) {
      return yield* Effect.scoped(Effect.gen(function*() {
        const subscription = yield* PubSub.subscribe(acked)
        const current = yield* asks.get(correlationId)
        if (current.state === "acked" || timeoutMs <= 0) return current
        yield* Stream.fromQueue(subscription).pipe(
          Stream.filter((id) => id === correlationId),
          Stream.take(1),
          Stream.runDrain,
          Effect.timeout(Duration.millis(timeoutMs)),
          Effect.ignore
        )
        yield* Queue.shutdown(subscription)
        return yield* asks.get(correlationId)
      }))
    })

    return MessageRouter.of({
      ask: (sender, request) =>
        Effect.flatMap(viaOf, (via) => Effect.flatMap(Clock.currentTimeMillis, (at) => askNow(sender, request, at, via))),
      askNow,
      ack,
      notify: (sender, request) =>
        Effect.flatMap(viaOf, (via) => Effect.flatMap(Clock.currentTimeMillis, (at) => notifyNow(sender, request, at, via))),
      notifyNow,
      broadcast,
      flush,
      confirm,
      waitForAck
    })
  })
)
