import type { MeshEvent } from "./types.js"

export interface EventLine {
  readonly label: string
  readonly who: string
  readonly text: string
}

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

/** One log row: what happened, between whom, and its text. */
export const describeEvent = (event: MeshEvent): EventLine => {
  switch (event.type) {
    case "peer_joined":
      return { label: "joined", who: event.peer.display_name, text: oneLine(event.peer.description) }
    case "peer_updated":
      return { label: "updated", who: event.peer.display_name, text: oneLine(event.peer.description) }
    case "peer_left":
      return { label: "left", who: event.display_name, text: "" }
    case "peer_status":
      return { label: "status", who: event.display_name, text: event.status }
    case "ask":
      return { label: "ask", who: `${event.from_name} → ${event.to_name}`, text: oneLine(event.text) }
    case "ack":
      return {
        label: "ack",
        who: `${event.from_name} → ${event.to_name}`,
        text: event.reply === null ? "(seen)" : oneLine(event.reply)
      }
    case "notify":
      return { label: "notify", who: `${event.from_name} → ${event.to_name}`, text: oneLine(event.text) }
    case "broadcast":
      return { label: "broadcast", who: `${event.from_name} → ${event.circle}`, text: oneLine(event.text) }
    case "delivery":
      return {
        label: event.state,
        who: event.to_name,
        text: `${event.correlation_id ?? event.message_id}${event.detail === null ? "" : `: ${event.detail}`}`
      }
    case "chat":
      return { label: event.role === "user" ? "prompt" : "reply", who: event.display_name, text: oneLine(event.text) }
    case "tool_call":
      return { label: "tool", who: event.display_name, text: oneLine(`${event.tool} ${event.summary}`) }
    case "policy_denied":
      return {
        label: "denied",
        who: `${event.from_name}${event.via === "relay" ? " (relay)" : ""}${
          event.to_name === null ? "" : ` → ${event.to_name}`
        }`,
        text: `${event.action ?? `tool ${event.tool ?? "?"}`}: ${event.reason}`
      }
  }
}

export const timeOf = (iso: string): string => {
  const t = new Date(iso)
  return Number.isNaN(t.getTime()) ? "" : t.toTimeString().slice(0, 8)
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`
