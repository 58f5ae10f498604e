import type { MeshEvent } from "./types.js"

type Chat = Extract<MeshEvent, { type: "chat" }>
type ToolCall = Extract<MeshEvent, { type: "tool_call" }>

export type TimelineEntry =
  | { readonly kind: "chat"; readonly key: number; readonly event: Chat }
  | { readonly kind: "tools"; readonly key: number; readonly calls: ReadonlyArray<ToolCall> }

/**
 * A peer's conversation: user prompts and assistant replies in order, with each run of tool
 * calls between two turns collapsed into one entry.
 */
export const peerTimeline = (events: ReadonlyArray<MeshEvent>, peerId: string): ReadonlyArray<TimelineEntry> => {
  const out: Array<TimelineEntry> = []
  let run: Array<ToolCall> | undefined
  for (const event of events) {
    if (event.type === "tool_call" && event.peer_id === peerId) {
      if (run === undefined) {
        run = [event]
        out.push({ kind: "tools", key: event.id, calls: run })
      } else {
        run.push(event)
      }
    } else if (event.type === "chat" && event.peer_id === peerId) {
      run = undefined
      out.push({ kind: "chat", key: event.id, event })
    }
  }
  return out
}

/** "Read, Edit ×3, Bash" — a one-line summary of a collapsed run of tool calls. */
export const summarizeTools = (calls: ReadonlyArray<ToolCall>): string => {
  const counts = new Map<string, number>()
  for (const call of calls) counts.set(call.tool, (counts.get(call.tool) ?? 0) + 1)
  return [...counts.entries()].map(([tool, n]) => (n > 1 ? `${tool} ×${n}` : tool)).join(", ")
}
