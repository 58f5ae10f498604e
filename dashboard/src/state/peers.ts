import type { MeshEvent, Peer, PeerStatus } from "./types.js"

export type PeerMap = ReadonlyMap<string, Peer>

export const peerMap = (peers: ReadonlyArray<Peer>): PeerMap => new Map(peers.map((p) => [p.peer_id, p]))

const withPeer = (peers: PeerMap, peer: Peer): PeerMap => new Map(peers).set(peer.peer_id, peer)

const withStatus = (peers: PeerMap, peerId: string, status: PeerStatus, at: string): PeerMap => {
  const peer = peers.get(peerId)
  if (peer === undefined || peer.status === status) return peers
  return withPeer(peers, { ...peer, status, last_seen: at })
}

/** Applies a peer event to the peer list; other events leave it as it was (same reference). */
export const applyPeerEvent = (peers: PeerMap, event: MeshEvent): PeerMap => {
  switch (event.type) {
    case "peer_joined":
    case "peer_updated":
      return withPeer(peers, event.peer)
    case "peer_status":
      return withStatus(peers, event.peer_id, event.status, event.at)
    case "peer_left": {
      if (!peers.has(event.peer_id)) return peers
      const next = new Map(peers)
      next.delete(event.peer_id)
      return next
    }
    default:
      return peers
  }
}

export const applyPeerEvents = (peers: PeerMap, events: ReadonlyArray<MeshEvent>): PeerMap =>
  events.reduce(applyPeerEvent, peers)

const statusOrder: Record<PeerStatus, number> = { busy: 0, online: 1, offline: 2 }

export interface CircleGroup {
  readonly circle: string
  readonly peers: ReadonlyArray<Peer>
  readonly online: number
}

/** Peers grouped by circle (circles by name), live peers first, then by name. */
export const groupByCircle = (peers: PeerMap): ReadonlyArray<CircleGroup> => {
  const groups = new Map<string, Array<Peer>>()
  for (const peer of peers.values()) {
    const list = groups.get(peer.circle)
    if (list === undefined) groups.set(peer.circle, [peer])
    else list.push(peer)
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([circle, list]) => ({
      circle,
      peers: list.sort((a, b) =>
        statusOrder[a.status] - statusOrder[b.status] || a.display_name.localeCompare(b.display_name)
      ),
      online: list.filter((p) => p.status !== "offline").length
    }))
}

export const findPeer = (peers: PeerMap, ref: string): Peer | undefined =>
  peers.get(ref) ?? [...peers.values()].find((p) => p.display_name === ref)

/** Whether the list holds peers of more than one machine (linked daemons): names then need theirs. */
export const severalMachines = (peers: PeerMap): boolean => new Set([...peers.values()].map((p) => p.machine)).size > 1

/** A peer as it is addressed: `name@machine` when peers of several machines are listed, else its name. */
export const addressOf = (peers: PeerMap) =>
  severalMachines(peers)
    ? (p: { display_name: string; machine: string }) => `${p.display_name}@${p.machine}`
    : (p: { display_name: string }) => p.display_name
