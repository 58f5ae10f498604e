import { useMemo } from "preact/hooks"
import { type AskIndex, openAsksOf } from "../state/asks.js"
import { timeOf } from "../state/format.js"
import { addressOf, findPeer, type PeerMap } from "../state/peers.js"
import { peerTimeline, summarizeTools } from "../state/timeline.js"
import type { MeshEvent } from "../state/types.js"
import { AskCard } from "./AsksView.js"

const SHOWN = 400

export const PeerView = (
  { asks, events, peerRef, peers }: {
    peerRef: string
    peers: PeerMap
    events: ReadonlyArray<MeshEvent>
    asks: AskIndex
  }
) => {
  const peer = findPeer(peers, peerRef)
  const peerId = peer?.peer_id ?? peerRef
  const timeline = useMemo(() => peerTimeline(events, peerId), [events, peerId])
  const open = useMemo(() => openAsksOf(asks, peerId), [asks, peerId])
  return (
    <section class="peer-view">
      {peer === undefined ? <h2>{peerRef}</h2> : (
        <header class="peer-head">
          <h2>
            <span class={`dot s-${peer.status}`} /> {peer.display_name} <small>{peer.status}</small>
          </h2>
          <p>
            <span class="machine" data-machine={peer.machine}>on {peer.machine}</span> · {peer.backend} · circle{" "}
            {peer.circle} · {peer.role}
            {peer.path === null ? "" : ` · ${peer.path}`}
          </p>
          {peer.description === "" ? null : <p class="desc">{peer.description}</p>}
          <a class="button" href={`#/compose/${encodeURIComponent(peer.peer_id)}`}>Ask {addressOf(peers)(peer)}</a>{" "}
          <a class="button" href={`#/log?peer=${encodeURIComponent(peer.peer_id)}`}>Log</a>
        </header>
      )}
      <h3>Open asks ({open.length})</h3>
      {open.map((item) => <AskCard key={item.correlation_id} item={item} />)}
      <h3>Conversation</h3>
      {timeline.length === 0 ? <p class="empty">No turns reported yet.</p> : null}
      <ol class="timeline">
        {timeline.slice(-SHOWN).map((entry) =>
          entry.kind === "chat" ?
            (
              <li key={entry.key} class={`turn r-${entry.event.role}`}>
                <span class="time">{timeOf(entry.event.at)}</span>
                <span class="role">{entry.event.role === "user" ? "user" : "assistant"}</span>
                <p>{entry.event.text}</p>
              </li>
            ) :
            (
              <li key={entry.key} class="tools">
                <details>
                  <summary>
                    {entry.calls.length} tool call{entry.calls.length === 1 ? "" : "s"}: {summarizeTools(entry.calls)}
                  </summary>
                  <ul>
                    {entry.calls.map((c) => (
                      <li key={c.id}>
                        <code>{c.tool}</code> {c.summary}
                      </li>
                    ))}
                  </ul>
                </details>
              </li>
            )
        )}
      </ol>
    </section>
  )
}
