import { Either } from "effect"
import { QueueFull } from "../../protocol/Errors.js"
import type { MeshEvent, NewMeshEvent } from "../../protocol/MeshEvent.js"
import type { AskRequest, Message, NotifyRequest } from "../../protocol/Message.js"
import type { Peer } from "../../protocol/Peer.js"
import type { Via } from "../../services/Policy.js"
import { callerOf } from "../policy/Gate.js"
import type { RouterContext } from "./RouterContext.js"

/** The synchronous `askNow`/`notifyNow` steps: the daemon's hot path runs them with no fiber. */
export const makeSendNow = (ctx: RouterContext) => {
  const {
    asks,
    checkSender,
    db,
    deliveries,
    draft,
    events,
    gate,
    ids,
    pushNow,
    registry,
    resolveRefs
  } = ctx

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

  /**
   * A notify; as `broadcast`, one recipient's copy of a broadcast made on a linked machine, so
   * this daemon's rules for broadcasts (not for notifies) decide whether it is taken.
   */
  const notifyNow = (
    sender: Peer,
    request: NotifyRequest,
    at: number,
    via: Via = "local",
    kind: "notify" | "broadcast" = "notify"
  ) =>
    Either.gen(function*() {
      yield* checkSender(sender, request.from_peer)
      const target = yield* registry.resolveNow(request.to_peer, sender, request.circle, at)
      yield* gate.sendNow(callerOf(sender, via), kind, target, (request.attachments?.length ?? 0) > 0, at)
      const refs = yield* resolveRefs(request.attachments, at)
      const message = draft(kind, sender, target, request.text, refs, at)
      const common = {
        circle: message.circle,
        message_id: message.id,
        from_peer: message.from_peer,
        from_name: message.from_name,
        text: message.text,
        attachments: refs
      }
      yield* store(
        message,
        () => {},
        kind === "notify"
          ? { type: "notify", ...common, to_peer: message.to_peer, to_name: message.to_name }
          : { type: "broadcast", ...common, recipients: [message.to_name] },
        at
      )
      return { id: message.id, delivery: pushNow({ ...message, state: "queued" }, target) }
    })

  return { askNow, notifyNow }
}
