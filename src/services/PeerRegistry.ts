import { Context, type Effect, type Either, type Option } from "effect"
import type { AmbiguousPeer, Forbidden, PeerNotFound, Unauthorized } from "../protocol/Errors.js"
import type { RemotePeer } from "../protocol/MeshWire.js"
import type { Peer, PeerStatus, Registered, RegisterPeer, Role, TurnState } from "../protocol/Peer.js"

export interface PeerFilter {
  readonly circle?: string | undefined
  readonly status?: PeerStatus | undefined
  /** Include peers that have been offline longer than `daemon.peers.forget_after`. */
  readonly all?: boolean | undefined
  /** Only this daemon's own peers, not those of linked machines. */
  readonly localOnly?: boolean | undefined
}

/** Who a lookup is made for: agents see their own circle; humans and services see all. */
export interface Viewer {
  readonly role: Peer["role"]
  readonly circle: string
}

export const DASHBOARD_PEER_ID = "peer-dashboard"

export class PeerRegistry extends Context.Tag("repowire/PeerRegistry")<PeerRegistry, {
  /** Registers a new peer, or resumes `input.peer_id` when `token` is that peer's. */
  readonly register: (
    input: RegisterPeer,
    token: string | undefined
  ) => Effect.Effect<Registered, Unauthorized | PeerNotFound>
  /** The peer a token belongs to; marks it seen. */
  readonly authenticate: (peerId: string, token: string) => Effect.Effect<Peer, Unauthorized>
  /** The peer a token belongs to, marked seen at `now`: a synchronous step, as every request makes it. */
  readonly byTokenNow: (token: string, now: number) => Peer | undefined
  /** A peer by id or display name as `viewer` sees it (`circle` narrows names). */
  readonly resolve: (
    ref: string,
    viewer?: Viewer,
    circle?: string
  ) => Effect.Effect<Peer, PeerNotFound | AmbiguousPeer | Forbidden>
  /** `resolve` as a synchronous step, at time `now`. */
  readonly resolveNow: (
    ref: string,
    viewer: Viewer | undefined,
    circle: string | undefined,
    now: number
  ) => Either.Either<Peer, PeerNotFound | AmbiguousPeer | Forbidden>
  readonly get: (peerId: string) => Effect.Effect<Option.Option<Peer>>
  /** `get` as a synchronous step, at time `now`. */
  readonly getNow: (peerId: string, now: number) => Option.Option<Peer>
  readonly list: (filter: PeerFilter) => Effect.Effect<ReadonlyArray<Peer>>
  readonly setDescription: (peerId: string, description: string) => Effect.Effect<Peer, PeerNotFound>
  readonly setCircle: (peerId: string, circle: string) => Effect.Effect<Peer, PeerNotFound>
  readonly setStatus: (peerId: string, status: PeerStatus) => Effect.Effect<Peer, PeerNotFound>
  readonly setRole: (peerId: string, role: Role) => Effect.Effect<Peer, PeerNotFound>
  readonly setTurn: (peerId: string, turn: TurnState) => Effect.Effect<Peer, PeerNotFound>
  readonly touch: (peerId: string) => Effect.Effect<void>
  readonly remove: (peerId: string) => Effect.Effect<Peer, PeerNotFound>
  /** The dashboard's human peer, created on first use. */
  readonly dashboard: Effect.Effect<Peer>
  /** Shows `peers` as the peers of linked machine `machine` (its daemon's whole list). */
  readonly syncRemote: (machine: string, peers: ReadonlyArray<RemotePeer>) => Effect.Effect<void>
  /** A linked machine's peers go offline (its link is down), or away for good (`forget`). */
  readonly remoteGone: (machine: string, forget: boolean) => Effect.Effect<void>
  /** The ids of a linked machine's peers. */
  readonly remoteIds: (machine: string) => Effect.Effect<ReadonlyArray<string>>
  /** Whether a peer lives on a linked machine: a synchronous step. */
  readonly isRemoteNow: (peerId: string) => boolean
  /** This daemon's own peers (not those of linked machines), as they are now. */
  readonly localPeers: Effect.Effect<ReadonlyArray<Peer>>
  readonly counts: Effect.Effect<{ readonly online: number; readonly busy: number; readonly offline: number }>
}>() {}
