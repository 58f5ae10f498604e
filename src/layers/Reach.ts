import type { Peer } from "../protocol/Peer.js"

/**
 * Circle reach, in one place. Agents reach their own circle; every other role (human,
 * service, orchestrator) reaches, and can be reached from, every circle.
 */
export const reachesEveryCircle = (peer: Pick<Peer, "role">): boolean => peer.role !== "agent"

/** `peer` may address peers of `circle` (and spawn agents into it). */
export const reachesCircle = (peer: Pick<Peer, "role" | "circle">, circle: string): boolean =>
  reachesEveryCircle(peer) || peer.circle === circle

/** The peers `viewer` reaches: its circle and every circle's non-agents, or everyone for an orchestrator. */
export const reachableFrom = <P extends Pick<Peer, "role" | "circle">>(
  viewer: Pick<Peer, "role" | "circle">,
  peers: ReadonlyArray<P>
): ReadonlyArray<P> => peers.filter((p) => reachesCircle(viewer, p.circle) || reachesEveryCircle(p))
