import { Effect, Layer } from "effect"
import type { DeliveryFrame } from "../../src/protocol/AgentFrame.js"
import { Transports } from "../../src/services/Transports.js"

/**
 * A stand-in for the agents' /ws connections: it records every frame it is handed and takes
 * one only for a peer the test has said is live.
 */
export interface FakeTransports {
  /** Frames handed to live peers, in order. */
  readonly frames: Array<{ readonly peerId: string; readonly frame: DeliveryFrame }>
  readonly setLive: (peerId: string, live: boolean) => void
  readonly framesTo: (peerId: string) => ReadonlyArray<DeliveryFrame>
  readonly layer: Layer.Layer<Transports>
}

export const makeFakeTransports = (): FakeTransports => {
  const live = new Set<string>()
  const frames: Array<{ readonly peerId: string; readonly frame: DeliveryFrame }> = []
  const deliverNow = (peerId: string, frame: DeliveryFrame) => {
    if (!live.has(peerId)) return false
    frames.push({ peerId, frame })
    return true
  }
  const service = Transports.of({
    attach: (peerId) => Effect.sync(() => void live.add(peerId)),
    detach: (peerId) => Effect.sync(() => live.delete(peerId)),
    deliver: (peerId, frame) => Effect.sync(() => deliverNow(peerId, frame)),
    deliverNow,
    deliverAll: (batch) => Effect.sync(() => batch.map(([peerId, frame]) => deliverNow(peerId, frame))),
    close: (peerId) => Effect.sync(() => void live.delete(peerId)),
    livePeersNow: () => new Set(live)
  })
  return {
    frames,
    setLive: (peerId, on) => void (on ? live.add(peerId) : live.delete(peerId)),
    framesTo: (peerId) => frames.filter((f) => f.peerId === peerId).map((f) => f.frame),
    layer: Layer.succeed(Transports, service)
  }
}
