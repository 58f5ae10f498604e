import { Clock, Duration, Effect, PubSub, Queue, Stream } from "effect"
import { Forbidden } from "../../protocol/Errors.js"
import type { AckRequest } from "../../protocol/Message.js"
import type { Peer } from "../../protocol/Peer.js"
import { callerOf } from "../policy/Gate.js"
import type { RouterContext } from "./RouterContext.js"

/** Acking an ask (with its optional reply), failing one for good, and waiting for either. */
export const makeAckAndWait = Effect.fnUntraced(function*(ctx: RouterContext) {
  const { asks, commit, deliveries, draft, events, gate, pushNow, registry, resolveRefs, viaOf } = ctx
  const acked = yield* Effect.acquireRelease(PubSub.unbounded<string>(), PubSub.shutdown)

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
      : {
        peer_id: question.from_peer,
        display_name: question.from_name,
        circle: question.circle,
        backend: "",
        role: "",
        machine: ""
      }
    yield* gate.sendNow(callerOf(sender, yield* viaOf), "ack", askedBy, (request.attachments?.length ?? 0) > 0, at)
    const refs = yield* resolveRefs(request.attachments, at)
    const replyText = request.message ?? null
    const reply = replyText === null && refs.length === 0
      ? undefined
      : draft(
        "reply",
        sender,
        {
          peer_id: question.from_peer,
          display_name: question.from_name,
          circle: question.circle
        },
        replyText ?? "(attachments)",
        refs,
        at,
        { correlation_id: question.correlation_id }
      )
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

  /**
   * A queued message was refused for good where it was going: it fails (never retried), its
   * ask closes with the reason, and whoever waits for that ask hears of it now.
   */
  const fail = Effect.fn("MessageRouter.fail")(function*(peerId: string, messageId: string, reason: string) {
    const closed = yield* commit(Effect.sync(() => {
      const message = deliveries.failNow(messageId, peerId)
      if (message === undefined) return [undefined, []] as const
      const ask = message.kind === "ask" && message.correlation_id !== null ? message.correlation_id : undefined
      if (ask !== undefined) asks.failNow(ask, reason)
      const event = events.appendNow({
        type: "delivery",
        circle: message.circle,
        message_id: message.id,
        correlation_id: message.correlation_id,
        to_peer: message.to_peer,
        to_name: message.to_name,
        state: "refused",
        detail: reason
      }, Date.now())
      return [ask, [event]] as const
    }))
    if (closed !== undefined) yield* PubSub.publish(acked, closed)
  })

  const waitForAck = Effect.fn("MessageRouter.waitForAck")(function*(correlationId: string, timeoutMs: number) {
    return yield* Effect.scoped(Effect.gen(function*() {
      const subscription = yield* PubSub.subscribe(acked)
      const current = yield* asks.get(correlationId)
      if (current.state === "acked" || current.state === "failed" || timeoutMs <= 0) return current
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

  return { ack, fail, waitForAck }
})
