import type { MeshEvent, MeshEventType } from "./types.js"

export interface LogFilter {
  /** A peer id or display name; matches events from, to or about that peer. */
  readonly peer: string
  readonly circle: string
  /** Empty means every type. */
  readonly types: ReadonlyArray<MeshEventType>
  readonly text: string
}

export const noFilter: LogFilter = { peer: "", circle: "", types: [], text: "" }

/** The peer ids and names an event is from, to or about. */
export const eventPeers = (event: MeshEvent): ReadonlyArray<string> => {
  switch (event.type) {
    case "peer_joined":
    case "peer_updated":
      return [event.peer.peer_id, event.peer.display_name]
    case "peer_left":
    case "peer_status":
    case "chat":
    case "tool_call":
      return [event.peer_id, event.display_name]
    case "ask":
    case "ack":
    case "notify":
      return [event.from_peer, event.from_name, event.to_peer, event.to_name]
    case "broadcast":
      return [event.from_peer, event.from_name, ...event.recipients]
    case "delivery":
      return [event.to_peer, event.to_name]
    case "policy_denied":
      return [event.from_peer, event.from_name, ...(event.to_peer === null ? [] : [event.to_peer, event.to_name ?? ""])]
  }
}

/** The words of an event that a text filter searches. */
export const eventText = (event: MeshEvent): string => {
  switch (event.type) {
    case "ask":
    case "notify":
    case "broadcast":
    case "chat":
      return event.text
    case "ack":
      return event.reply ?? ""
    case "tool_call":
      return `${event.tool} ${event.summary}`
    case "delivery":
      return `${event.state} ${event.detail ?? ""}`
    case "peer_joined":
    case "peer_updated":
      return event.peer.description
    case "peer_status":
      return event.status
    case "peer_left":
      return ""
    case "policy_denied":
      return `${event.action ?? event.tool ?? ""} ${event.reason}`
  }
}

export const isFilterEmpty = (filter: LogFilter): boolean =>
  filter.peer === "" && filter.circle === "" && filter.types.length === 0 && filter.text.trim() === ""

export const matchesFilter = (event: MeshEvent, filter: LogFilter): boolean => {
  if (filter.circle !== "" && event.circle !== filter.circle) return false
  if (filter.types.length > 0 && !filter.types.includes(event.type)) return false
  if (filter.peer !== "" && !eventPeers(event).includes(filter.peer)) return false
  const needle = filter.text.trim().toLowerCase()
  if (needle !== "" && !eventText(event).toLowerCase().includes(needle)) return false
  return true
}

/** Filters a log; returns the same array when nothing is filtered so list identity is kept. */
export const applyFilter = (events: ReadonlyArray<MeshEvent>, filter: LogFilter): ReadonlyArray<MeshEvent> =>
  isFilterEmpty(filter) ? events : events.filter((e) => matchesFilter(e, filter))

/** Filter state kept in the URL hash query, so a filtered view can be bookmarked. */
export const filterFromQuery = (query: string): LogFilter => {
  const params = new URLSearchParams(query)
  const types = (params.get("types") ?? "").split(",").filter((t) => t !== "") as Array<MeshEventType>
  return { peer: params.get("peer") ?? "", circle: params.get("circle") ?? "", types, text: params.get("q") ?? "" }
}

export const filterToQuery = (filter: LogFilter): string => {
  const params = new URLSearchParams()
  if (filter.peer !== "") params.set("peer", filter.peer)
  if (filter.circle !== "") params.set("circle", filter.circle)
  if (filter.types.length > 0) params.set("types", filter.types.join(","))
  if (filter.text !== "") params.set("q", filter.text)
  return params.toString()
}
