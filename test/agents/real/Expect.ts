import { assert } from "@effect/vitest"
import { httpJson } from "../Harness.js"
import { ANSWER, type Mesh, PEER, QUESTION } from "./Agents.js"

export interface MeshEvent {
  readonly type: string
  readonly role?: string
  readonly text?: string
  readonly tool?: string
  readonly summary?: string
}

/** What one scripted turn must leave on the daemon and in the model's log, whatever the CLI. */
export const assertTurn = async (mesh: Mesh, backend: string, label: string) => {
  const peers = (await httpJson(mesh.daemon.url, "GET", "/peers?all=true")).body.peers as Array<any>
  const peer = peers.find((p) => p.display_name === PEER || p.name === PEER)
  assert.isDefined(
    peer,
    `${label}: peer ${PEER} registered (peers: ${JSON.stringify(peers.map((p) => p.display_name))})`
  )
  assert.strictEqual(peer.backend, backend)
  const events = (await httpJson(mesh.daemon.url, "GET", `/events?peer=${peer.peer_id}&limit=500`)).body
    .events as Array<MeshEvent>
  const chats = events.filter((e) => e.type === "chat")
  const tools = events.filter((e) => e.type === "tool_call")
  const shown = JSON.stringify(events.map((e) => [e.type, e.role ?? e.tool, (e.text ?? e.summary ?? "").slice(0, 80)]))
  assert.isTrue(
    chats.some((e) => e.role === "user" && e.text?.includes("lead")),
    `${label}: the user's prompt is a chat event: ${shown}`
  )
  assert.isFalse(
    chats.some((e) => e.role === "user" && e.text?.includes("repowire mesh as")),
    `${label}: the intro is not the user's text`
  )
  assert.isTrue(
    chats.some((e) => e.role === "assistant" && e.text?.includes(QUESTION)),
    `${label}: the answer is a chat event: ${shown}`
  )
  const askCall = tools.find((e) => e.tool?.endsWith("ask"))
  assert.isDefined(tools.find((e) => e.tool?.endsWith("list_peers")), `${label}: list_peers reported: ${shown}`)
  assert.isDefined(askCall, `${label}: ask reported: ${shown}`)
  assert.include(askCall!.summary ?? "", "lead", `${label}: the ask's arguments are in its summary`)
  const leadAsk = mesh.leadAsk()
  assert.isDefined(leadAsk, `${label}: the agent's ask reached the lead`)
  const answered = (await httpJson(mesh.daemon.url, "GET", `/asks/${leadAsk}`, {
    headers: { "x-repowire-peer-token": mesh.lead.token }
  })).body
  assert.strictEqual(answered.state, "acked", `${label}: the lead's ask was acked by the agent`)
  assert.include(JSON.stringify(answered), ANSWER)
  const followUp = mesh.model.log.find((r) => r.conversation.text.includes(`[repowire] ask ${leadAsk}`))
  assert.isDefined(followUp, `${label}: the follow-up turn carried the lead's ask to the model`)
  return { peer, events }
}
