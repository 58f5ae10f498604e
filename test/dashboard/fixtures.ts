import type { MeshEvent, Peer } from "../../dashboard/src/state/types.js"

let clock = Date.parse("2026-11-28T12:00:00Z")
export const at = () => new Date(clock += 1000).toISOString()

export const peer = (name: string, circle = "default", status: Peer["status"] = "online"): Peer => ({
  peer_id: `peer-${name.padEnd(8, "x")}` as Peer["peer_id"],
  display_name: name,
  path: `/src/${name}`,
  machine: "box",
  backend: "claude-code",
  circle,
  role: "agent",
  status,
  description: `${name} work`,
  last_seen: at(),
  metadata: {},
  turn_state: null
})

export const joined = (id: number, p: Peer): MeshEvent => ({
  id,
  at: at(),
  circle: p.circle,
  type: "peer_joined",
  peer: p
})

export const ask = (
  id: number,
  cid: string,
  from: Peer,
  to: Peer,
  text: string,
  replyTo: string | null = null
): MeshEvent => ({
  id,
  at: at(),
  circle: from.circle,
  type: "ask",
  from_peer: from.peer_id,
  from_name: from.display_name,
  correlation_id: cid,
  to_peer: to.peer_id,
  to_name: to.display_name,
  text,
  reply_to: replyTo,
  attachments: []
})

export const ack = (id: number, cid: string, from: Peer, to: Peer, reply: string | null): MeshEvent => ({
  id,
  at: at(),
  circle: from.circle,
  type: "ack",
  from_peer: from.peer_id,
  from_name: from.display_name,
  correlation_id: cid,
  to_peer: to.peer_id,
  to_name: to.display_name,
  reply,
  attachments: []
})

export const delivered = (
  id: number,
  cid: string,
  to: Peer,
  state: "delivered" | "failed" = "delivered"
): MeshEvent => ({
  id,
  at: at(),
  circle: to.circle,
  type: "delivery",
  message_id: `msg-${id}xxxxxxxx`,
  correlation_id: cid,
  to_peer: to.peer_id,
  to_name: to.display_name,
  state,
  detail: null
})

export const chat = (id: number, p: Peer, role: "user" | "assistant", text: string): MeshEvent => ({
  id,
  at: at(),
  circle: p.circle,
  type: "chat",
  peer_id: p.peer_id,
  display_name: p.display_name,
  role,
  text
})

export const tool = (id: number, p: Peer, name: string): MeshEvent => ({
  id,
  at: at(),
  circle: p.circle,
  type: "tool_call",
  peer_id: p.peer_id,
  display_name: p.display_name,
  tool: name,
  summary: `${name} something`
})

export const notify = (id: number, from: Peer, to: Peer, text: string): MeshEvent => ({
  id,
  at: at(),
  circle: from.circle,
  type: "notify",
  from_peer: from.peer_id,
  from_name: from.display_name,
  message_id: `msg-${id}xxxxxxxx`,
  to_peer: to.peer_id,
  to_name: to.display_name,
  text,
  attachments: []
})
