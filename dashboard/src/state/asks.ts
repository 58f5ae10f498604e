import type { Ask, AttachmentRef, MeshEvent } from "./types.js"

export type AskState = "queued" | "delivered" | "acked" | "failed"
export type ReplyState = "none" | "queued" | "delivered" | "failed"

export interface AskItem {
  readonly correlation_id: string
  readonly from_peer: string
  readonly from_name: string
  readonly to_peer: string
  readonly to_name: string
  readonly circle: string
  readonly text: string
  readonly reply_to: string | null
  readonly attachments: ReadonlyArray<AttachmentRef>
  readonly state: AskState
  readonly reply: string | null
  readonly reply_attachments: ReadonlyArray<AttachmentRef>
  /** Delivery of the reply back to the asker. */
  readonly reply_state: ReplyState
  readonly delivery_detail: string | null
  readonly created_at: string
  readonly acked_at: string | null
}

export type AskIndex = ReadonlyMap<string, AskItem>

const rank: Record<AskState, number> = { queued: 0, delivered: 1, acked: 2, failed: 3 }
const later = (a: AskState, b: AskState): AskState => (rank[b] > rank[a] ? b : a)

const fromAsk = (ask: Ask): AskItem => ({
  ...ask,
  reply_state: ask.state === "acked" && ask.reply !== null ? "queued" : "none",
  delivery_detail: ask.failure
})

/** Adds a snapshot from `GET /asks`; what events already told us is kept when it is newer. */
export const mergeAsks = (index: AskIndex, asks: ReadonlyArray<Ask>): AskIndex => {
  const next = new Map(index)
  for (const ask of asks) {
    const known = next.get(ask.correlation_id)
    const item = fromAsk(ask)
    next.set(
      ask.correlation_id,
      known === undefined ? item : {
        ...item,
        state: later(known.state, item.state),
        reply: known.reply ?? item.reply,
        reply_state: known.reply_state === "none" ? item.reply_state : known.reply_state,
        acked_at: known.acked_at ?? item.acked_at
      }
    )
  }
  return next
}

/** Applies an ask, ack or delivery event; other events leave the index as it was. */
export const applyAskEvent = (index: AskIndex, event: MeshEvent): AskIndex => {
  switch (event.type) {
    case "ask": {
      if (index.has(event.correlation_id)) return index
      return new Map(index).set(event.correlation_id, {
        correlation_id: event.correlation_id,
        from_peer: event.from_peer,
        from_name: event.from_name,
        to_peer: event.to_peer,
        to_name: event.to_name,
        circle: event.circle,
        text: event.text,
        reply_to: event.reply_to,
        attachments: event.attachments,
        state: "queued",
        reply: null,
        reply_attachments: [],
        reply_state: "none",
        delivery_detail: null,
        created_at: event.at,
        acked_at: null
      })
    }
    case "ack": {
      const item = index.get(event.correlation_id)
      if (item === undefined) return index
      return new Map(index).set(event.correlation_id, {
        ...item,
        state: "acked",
        reply: event.reply,
        reply_attachments: event.attachments,
        reply_state: event.reply === null ? "none" : item.reply_state === "delivered" ? "delivered" : "queued",
        acked_at: event.at
      })
    }
    case "delivery": {
      if (event.correlation_id === null) return index
      const item = index.get(event.correlation_id)
      if (item === undefined) return index
      // The reply travels back to the asker under the same correlation id.
      if (event.to_peer === item.from_peer && item.from_peer !== item.to_peer) {
        const reply_state: ReplyState = event.state === "delivered" ? "delivered" : "failed"
        return new Map(index).set(item.correlation_id, { ...item, reply_state, delivery_detail: event.detail })
      }
      // Refused for good where it was going (another machine's rules, say): the ask is closed.
      if (event.state === "refused") {
        return new Map(index).set(item.correlation_id, { ...item, state: "failed", delivery_detail: event.detail })
      }
      if (event.state !== "delivered") {
        return new Map(index).set(item.correlation_id, { ...item, delivery_detail: event.detail ?? event.state })
      }
      return new Map(index).set(item.correlation_id, { ...item, state: later(item.state, "delivered") })
    }
    default:
      return index
  }
}

export const applyAskEvents = (index: AskIndex, events: ReadonlyArray<MeshEvent>): AskIndex =>
  events.reduce(applyAskEvent, index)

export interface AskThread {
  /** The correlation id of the first ask of the chain. */
  readonly root: string
  /** The ask and its follow-ups (ask(reply_to=…)), oldest first. */
  readonly items: ReadonlyArray<AskItem>
  readonly open: boolean
  readonly updated: string
}

const rootOf = (index: AskIndex, item: AskItem): string => {
  let current = item
  const seen = new Set<string>([current.correlation_id])
  while (current.reply_to !== null) {
    const parent = index.get(current.reply_to)
    if (parent === undefined || seen.has(parent.correlation_id)) break
    seen.add(parent.correlation_id)
    current = parent
  }
  return current.correlation_id
}

const activity = (item: AskItem): string => item.acked_at ?? item.created_at

/** Groups asks into threads by their reply_to chains; threads with open asks first, then newest. */
export const buildThreads = (index: AskIndex): ReadonlyArray<AskThread> => {
  const groups = new Map<string, Array<AskItem>>()
  for (const item of index.values()) {
    const root = rootOf(index, item)
    const list = groups.get(root)
    if (list === undefined) groups.set(root, [item])
    else list.push(item)
  }
  const threads = [...groups.entries()].map(([root, items]): AskThread => {
    const sorted = items.sort((a, b) => a.created_at.localeCompare(b.created_at))
    return {
      root,
      items: sorted,
      open: sorted.some((i) => i.state !== "acked" && i.state !== "failed"),
      updated: sorted.reduce((max, i) => (activity(i) > max ? activity(i) : max), "")
    }
  })
  return threads.sort((a, b) => Number(b.open) - Number(a.open) || b.updated.localeCompare(a.updated))
}

/** Open asks a peer has to answer or is waiting on. */
export const openAsksOf = (index: AskIndex, peerId: string): ReadonlyArray<AskItem> =>
  [...index.values()]
    .filter((i) => i.state !== "acked" && i.state !== "failed" && (i.to_peer === peerId || i.from_peer === peerId))
    .sort((a, b) => a.created_at.localeCompare(b.created_at))
