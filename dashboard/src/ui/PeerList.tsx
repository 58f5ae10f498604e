import { groupByCircle, type PeerMap, severalMachines } from "../state/peers.js"

/** With peers of several machines (linked daemons), each shows its machine on a line of its own under its name. */
export const PeerList = ({ current, peers }: { peers: PeerMap; current: string }) => {
  const several = severalMachines(peers)
  return (
    <nav class="peers" aria-label="peers">
      {groupByCircle(peers).map((group) => (
        <div key={group.circle} class="circle" data-circle={group.circle}>
          <h3>
            {group.circle} <small>{group.online}/{group.peers.length}</small>
          </h3>
          <ul>
            {group.peers.map((p) => (
              <li
                key={p.peer_id}
                class={p.peer_id === current ? "peer selected" : "peer"}
                data-peer={p.display_name}
                data-machine={p.machine}
              >
                <a href={`#/peer/${encodeURIComponent(p.peer_id)}`} title={`${p.display_name}@${p.machine}`}>
                  <span class={`dot s-${p.status}`} title={p.status} />
                  <span class="name">{p.display_name}</span>
                  <span class="backend">
                    {p.backend} · <span class="status">{p.status}</span>
                    {p.turn_state === null ? null : <span class="turn">· {p.turn_state.replace("_", " ")}</span>}
                  </span>
                  {several ? <span class="machine">@{p.machine}</span> : null}
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
