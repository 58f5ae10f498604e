import { groupByCircle, type PeerMap } from "../state/peers.js"

/** Peers of several machines (linked daemons) are named as they are addressed: `name@machine`. */
const machineOf = (peers: PeerMap) =>
  new Set([...peers.values()].map((p) => p.machine)).size > 1 ? (p: { machine: string }) => `@${p.machine}` : () => ""

export const PeerList = ({ current, peers }: { peers: PeerMap; current: string }) => {
  const at = machineOf(peers)
  return (
    <nav class="peers" aria-label="peers">
      {groupByCircle(peers).map((group) => (
        <div key={group.circle} class="circle" data-circle={group.circle}>
          <h3>
            {group.circle} <small>{group.online}/{group.peers.length}</small>
          </h3>
          <ul>
            {group.peers.map((p) => (
              <li key={p.peer_id} class={p.peer_id === current ? "peer selected" : "peer"} data-peer={p.display_name}>
                <a href={`#/peer/${encodeURIComponent(p.peer_id)}`}>
                  <span class={`dot s-${p.status}`} title={p.status} />
                  <span class="name">{p.display_name}{at(p)}</span>
                  <span class="backend">
                    {p.backend} · <span class="status">{p.status}</span>
                    {p.turn_state === null ? null : <span class="turn">· {p.turn_state.replace("_", " ")}</span>}
                  </span>
                  {p.path === null ? null : <span class="path">{p.path}</span>}
                  {p.description === "" ? null : <span class="desc">{p.description}</span>}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {peers.size === 0 ? <p class="empty">No peers yet.</p> : null}
    </nav>
  )
}
