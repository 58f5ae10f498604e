import { Effect, Layer, Ref } from "effect"
import { CloseCode } from "../protocol/AgentFrame.js"
import { type Transport, Transports } from "../services/Transports.js"

/** Live connections live in memory: they end with the process that holds the sockets. */
export const TransportsLive = Layer.effect(
  Transports,
  Effect.gen(function*() {
    const current = yield* Ref.make(new Map<string, Transport>())

    const attach = (peerId: string, transport: Transport) =>
      Ref.modify(current, (map) => {
        const previous = map.get(peerId)
        const next = new Map(map)
        next.set(peerId, transport)
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
        return [true, next] as const
      })

    return Transports.of({
      attach,
      detach,
      isLive: (peerId) => Effect.map(Ref.get(current), (map) => map.has(peerId)),
      deliver: (peerId, frame) =>
        Effect.flatMap(Ref.get(current), (map) => {
          const transport = map.get(peerId)
          return transport === undefined ? Effect.succeed(false) : transport.send(frame)
        }),
      close: (peerId, code, reason) =>
        Effect.flatMap(Ref.get(current), (map) => map.get(peerId)?.close(code, reason) ?? Effect.void),
      livePeers: Effect.map(Ref.get(current), (map) => new Set(map.keys()))
    })
  })
)
