import { useMemo, useState } from "preact/hooks"
import { applyFilter, filterFromQuery, filterToQuery, type LogFilter } from "../state/filters.js"
import { describeEvent, timeOf } from "../state/format.js"
import { addressOf, type PeerMap } from "../state/peers.js"
import type { MeshEvent, MeshEventType } from "../state/types.js"
import { Chips } from "./Chips.js"
import { navigate } from "./hooks.js"
import { VirtualList } from "./VirtualList.js"

const TYPE_GROUPS: ReadonlyArray<{ label: string; types: ReadonlyArray<MeshEventType> }> = [
  { label: "all", types: [] },
  { label: "messages", types: ["ask", "ack", "notify", "broadcast", "delivery"] },
  { label: "peers", types: ["peer_joined", "peer_left", "peer_status", "peer_updated"] },
  { label: "chat", types: ["chat", "tool_call"] },
  { label: "denied", types: ["policy_denied"] }
]

const attachmentsOf = (e: MeshEvent) =>
  e.type === "ask" || e.type === "ack" || e.type === "notify" || e.type === "broadcast" ? e.attachments : []

export const EventRow = ({ event, onSelect }: { event: MeshEvent; onSelect: (e: MeshEvent) => void }) => {
  const line = describeEvent(event)
  return (
    <div class={`event t-${event.type}`} data-event-id={event.id} onClick={() => onSelect(event)}>
      <span class="time">{timeOf(event.at)}</span>
      <span class={`label l-${line.label}`}>{line.label}</span>
      <span class="who">{line.who}</span>
      <span class="text" title={line.text}>{line.text}</span>
      <Chips attachments={attachmentsOf(event)} />
    </div>
  )
}

export const LogView = (
  { events, peers, query }: { events: ReadonlyArray<MeshEvent>; peers: PeerMap; query: string }
) => {
  const filter = useMemo(() => filterFromQuery(query), [query])
  const [selected, setSelected] = useState<MeshEvent | undefined>(undefined)
  const shown = useMemo(() => applyFilter(events, filter), [events, filter])
  const circles = useMemo(() => [...new Set([...peers.values()].map((p) => p.circle))].sort(), [peers])
  const address = addressOf(peers)
  const setFilter = (patch: Partial<LogFilter>) => navigate(`#/log?${filterToQuery({ ...filter, ...patch })}`)
  const group = TYPE_GROUPS.find((g) => g.types.join() === filter.types.join())?.label ?? "all"

  return (
    <section class="log">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <select
          aria-label="peer"
          name="peer"
          value={filter.peer}
          onChange={(e) => setFilter({ peer: e.currentTarget.value })}
        >
          <option value="">all peers</option>
          {[...peers.values()].map((p) => <option key={p.peer_id} value={p.peer_id}>{address(p)} ({p.circle})</option>)}
        </select>
        <select
          aria-label="circle"
          name="circle"
          value={filter.circle}
          onChange={(e) => setFilter({ circle: e.currentTarget.value })}
        >
          <option value="">all circles</option>
          {circles.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <select
          aria-label="kind"
          name="kind"
          value={group}
          onChange={(e) =>
            setFilter({ types: TYPE_GROUPS.find((g) => g.label === e.currentTarget.value)?.types ?? [] })}
        >
          {TYPE_GROUPS.map((g) => <option key={g.label} value={g.label}>{g.label}</option>)}
        </select>
        <input
          aria-label="search"
          name="q"
          type="search"
          placeholder="search"
          value={filter.text}
          onChange={(e) => setFilter({ text: e.currentTarget.value })}
        />
        <span class="count">{shown.length} / {events.length}</span>
      </form>
      <VirtualList
        items={shown}
        rowHeight={30}
        itemKey={(e) => e.id}
        render={(e) => <EventRow event={e} onSelect={setSelected} />}
      />
      {selected === undefined ? null : (
        <div class="detail">
          <button type="button" class="close" aria-label="close" onClick={() => setSelected(undefined)}>×</button>
          <pre>{JSON.stringify(selected, null, 2)}</pre>
        </div>
      )}
    </section>
  )
}
