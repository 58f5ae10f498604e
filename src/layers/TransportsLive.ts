import { Effect, Layer } from "effect"
import { CloseCode, type DeliveryFrame } from "../protocol/AgentFrame.js"
import { type Transport, Transports } from "../services/Transports.js"

/** Live connections live in memory: they end with the process that holds the sockets. */
export const TransportsLive = Layer.sync(Transports, () => {
  // Replaced, never mutated: a reader holding the map or the set sees one consistent moment.
  let current: ReadonlyMap<string, Transport> = new Map()
  // Read on every request that looks at a peer; rebuilt only when a transport comes or goes.
  let live: ReadonlySet<string> = new Set()
  const replace = (next: ReadonlyMap<string, Transport>) => {
    current = next
    live = new Set(next.keys())
  }

  const attach = (peerId: string, transport: Transport) =>
    Effect.suspend(() => {
      const previous = current.get(peerId)
      replace(new Map(current).set(peerId, transport))
      return previous === undefined || previous.id === transport.id
        ? Effect.void
        : previous.close(CloseCode.Replaced, "a newer connection for this peer replaced this one")
    })

  const detach = (peerId: string, transport: Transport) =>
    Effect.sync(() => {
      if (current.get(peerId)?.id !== transport.id) return false
      const next = new Map(current)
      next.delete(peerId)
      replace(next)
      return true
    })

  const deliverNow = (peerId: string, frame: DeliveryFrame) => current.get(peerId)?.send(frame) ?? false

  return Transports.of({
    attach,
    detach,
    deliver: (peerId, frame) => Effect.sync(() => deliverNow(peerId, frame)),
    deliverNow,
    deliverAll: (frames) => Effect.sync(() => frames.map(([peerId, frame]) => deliverNow(peerId, frame))),
    close: (peerId, code, reason) => Effect.suspend(() => current.get(peerId)?.close(code, reason) ?? Effect.void),
    livePeersNow: () => live
  })
})
