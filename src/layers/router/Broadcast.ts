import { Clock, Effect } from "effect"
import { Forbidden } from "../../protocol/Errors.js"
import type { BroadcastRequest } from "../../protocol/Message.js"
import type { Peer } from "../../protocol/Peer.js"
import { frameOf } from "../Frames.js"
import { callerOf } from "../policy/Gate.js"
import { reachesCircle } from "../Reach.js"
import { readsEventLog, type RouterContext } from "./RouterContext.js"

/** One message to every peer of a circle the policy lets the sender reach. */
export const makeBroadcast = (ctx: RouterContext) => {
  const { checkSender, commit, deliveries, draft, events, gate, ids, registry, resolveRefs, transports, viaOf } = ctx

  return Effect.fnUntraced(function*(sender: Peer, request: BroadcastRequest) {
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
    const everyone = (yield* registry.list({ circle, localOnly: request.scope !== "mesh" })).filter((p) =>
      p.peer_id !== sender.peer_id && !readsEventLog(p)
    )
    const { allowed: recipients, skipped: denied } = gate.recipientsNow(caller, everyone, withAttachments, at)
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
}
