import { Context, type Effect } from "effect"
import type { DeliveryFrame, ServerFrame } from "../protocol/AgentFrame.js"

export interface Transport {
  readonly id: number
  /** Writes the frame to the socket now; false when the socket is no longer open. */
  readonly send: (frame: ServerFrame) => boolean
  readonly close: (code: number, reason: string) => Effect.Effect<void>
}

/** Live agent connections (/ws), at most one per peer: a newer one replaces the older. */
export class Transports extends Context.Tag("repowire/Transports")<Transports, {
  readonly attach: (peerId: string, transport: Transport) => Effect.Effect<void>
  /** Detaches only if `transport` is still the peer's current one; true when it was. */
  readonly detach: (peerId: string, transport: Transport) => Effect.Effect<boolean>
  /** Hands a frame to the peer's live transport; false when there is none. */
  readonly deliver: (peerId: string, frame: DeliveryFrame) => Effect.Effect<boolean>
  /** `deliver` as a synchronous step. */
  readonly deliverNow: (peerId: string, frame: DeliveryFrame) => boolean
  /** Hands each frame to its peer's live transport in one pass; true where one took it. */
  readonly deliverAll: (
    frames: ReadonlyArray<readonly [peerId: string, frame: DeliveryFrame]>
  ) => Effect.Effect<ReadonlyArray<boolean>>
  readonly close: (peerId: string, code: number, reason: string) => Effect.Effect<void>
  /** The peers with a live transport at this moment: read on every request that looks at a peer. */
  readonly livePeersNow: () => ReadonlySet<string>
}>() {}
