import { Effect, Either } from "effect"
import type { AttachmentRef } from "../../protocol/Attachment.js"
import { Forbidden } from "../../protocol/Errors.js"
import type { MeshEvent } from "../../protocol/MeshEvent.js"
import type { Delivery, Message } from "../../protocol/Message.js"
import type { Peer } from "../../protocol/Peer.js"
import { Asks } from "../../services/Asks.js"
import { Attachments } from "../../services/Attachments.js"
import { Database } from "../../services/Database.js"
import { Deliveries } from "../../services/Deliveries.js"
import { EventLog } from "../../services/EventLog.js"
import { Ids } from "../../services/Ids.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Policy, type Via } from "../../services/Policy.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { Transports } from "../../services/Transports.js"
import { frameOf } from "../Frames.js"
import { makeGate } from "../policy/Gate.js"

/** Peers whose inbox is the event log itself (the dashboard page, the CLI): delivered at once. */
export const readsEventLog = (peer: Peer) => peer.backend === "dashboard" || peer.backend === "cli"

/** What every part of the router shares: its services and the helpers each kind of message uses. */
export const makeRouterContext = Effect.gen(function*() {
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

  return {
    db,
    registry,
    deliveries,
    asks,
    events,
    transports,
    ids,
    gate,
    viaOf,
    checkSender,
    commit,
    askDeliveredNow,
    pushNow,
    draft,
    resolveRefs
  }
})

export type RouterContext = Effect.Effect.Success<typeof makeRouterContext>
