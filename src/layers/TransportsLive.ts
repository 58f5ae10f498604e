import { Effect, Layer, Ref } from "effect"
import { CloseCode } from "../protocol/AgentFrame.js"
import { type Transport, Transports } from "../services/Transports.js"

/** Live connections live in memory: they end with the process that holds the sockets. */
export const TransportsLive = Layer.effect(
  Transports,
  Effect.gen(function*() {
    const current = yield* Ref.make(new Map<string, Transport>())
    // Read on every request that looks at a peer; rebuilt only when a transport comes or goes.
    let live: ReadonlySet<string> = new Set()
    const remember = (map: ReadonlyMap<string, Transport>) => {
      live = new Set(map.keys())
    }

    const attach = (peerId: string, transport: Transport) =>
      Ref.modify(current, (map) => {
        const previous = map.get(peerId)
        const next = new Map(map)
        next.set(peerId, transport)
        remember(next)
        return [previous, next] as const
      }).pipe(
        Effect.flatMap((previous) =>
          previous === undefined || previous.id === transport.id
            ? Effect.void
            : previous.close(CloseCode.Replaced, "a newer connection for this peer replaced this one")
        )
      )

    const detach = (peerId: string, transport: Transport) =>
      Ref.modify(current, (map) => {
        if (map.get(peerId)?.id !== transport.id) return [false, map] as const
        const next = new Map(map)
        next.delete(peerId)
        remember(next)
        return [true, next] as const
      })

    return Transports.of({
      attach,
      detach,
      isLive: (peerId) => Effect.map(Ref.get(current), (map) => map.has(peerId)),
      deliver: (peerId, frame) => Effect.map(Ref.get(current), (map) => map.get(peerId)?.send(frame) ?? false),
      deliverAll: (frames) =>
        Effect.map(Ref.get(current), (map) => frames.map(([peerId, frame]) => map.get(peerId)?.send(frame) ?? false)),
      close: (peerId, code, reason) =>
        Effect.flatMap(Ref.get(current), (map) => map.get(peerId)?.close(code, reason) ?? Effect.void),
      livePeers: Effect.sync(() => live)
    })
  })
)
