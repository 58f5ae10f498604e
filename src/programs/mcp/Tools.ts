import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect } from "effect"
import { z } from "zod"
import { askResultText, asksText, peersText } from "./Format.js"
import { LIFECYCLE_TOOL_NAMES, registerLifecycleTools } from "./LifecycleTools.js"
import { reachableFrom } from "../../layers/Reach.js"
import { asPeer, call, type EffectRunner, toResult, type ToolContext } from "./ToolSupport.js"

export type { EffectRunner } from "./ToolSupport.js"

export const TOOL_NAMES = [
  "list_peers",
  "whoami",
  "set_description",
  "ask",
  "ack",
  "notify_peer",
  "broadcast",
  "list_asks",
  "wait_on_ack",
  ...LIFECYCLE_TOOL_NAMES
] as const

export const makeMcpServer = (runner: EffectRunner<ToolContext>, version: string): McpServer => {
  const server = new McpServer({ name: "repowire", version })
  const run = async (effect: Effect.Effect<string, unknown, ToolContext>) => toResult(await runner.runPromiseExit(effect))

  server.registerTool("list_peers", {
    description:
      "List the peers (other agent sessions) you can message: your circle by default, every circle for an orchestrator. " +
      "all=true includes offline ones.",
    inputSchema: { all: z.boolean().optional(), circle: z.string().optional() }
  }, ({ all, circle }) =>
    run(asPeer((me) =>
      Effect.gen(function*() {
        const self = yield* call((api) => api.peers.get({ path: { ref: me.peer_id } }), me.token)
        const { peers } = yield* call((api) =>
          api.peers.list({ urlParams: { ...(all ? { all: true } : {}), ...(circle ? { circle } : {}) } }), me.token)
        // By default, the peers the caller reaches: its circle (and everyone in every circle), or all for an orchestrator.
        const shown = circle === undefined ? reachableFrom(self, peers) : peers
        return peersText(shown, me.peer_id)
      })
    )))

  server.registerTool("whoami", { description: "Your own peer: name, id, circle, status." }, () =>
    run(asPeer((me) =>
      call((api) => api.peers.get({ path: { ref: me.peer_id } }), me.token).pipe(
        Effect.map((p) =>
          `you are ${p.display_name} (${p.peer_id}), circle ${p.circle}, backend ${p.backend}, ${p.status}` +
          (p.description ? `\ndescription: ${p.description}` : "")
        )
      )
    )))

  server.registerTool("set_description", {
    description: "Say what you are working on; other peers see it in list_peers.",
    inputSchema: { description: z.string().max(2000) }
  }, ({ description }) =>
    run(asPeer((me) =>
      call((api) => api.peers.setDescription({ path: { ref: me.peer_id }, payload: { description } }), me.token)
        .pipe(Effect.as("description set"))
    )))

  server.registerTool("ask", {
    description:
      "Ask another peer a question. Returns an ask id at once; the answer arrives later as a message (or use wait_on_ack).",
    inputSchema: {
      to: z.string().min(1).describe("peer name or id"),
      text: z.string().min(1),
      reply_to: z.string().optional().describe("an ask id this follows up")
    }
  }, ({ reply_to, text, to }) =>
    run(asPeer((me) =>
      call((api) =>
        api.messages.ask({ payload: { from_peer: me.peer_id, to_peer: to, text, ...(reply_to ? { reply_to } : {}) } }), me.token)
        .pipe(Effect.map((r) => `${r.correlation_id} sent to ${to} (${r.delivery})`))
    )))

  server.registerTool("ack", {
    description: "Close an ask you received: bare (seen) or with your reply as message.",
    inputSchema: { correlation_id: z.string().min(1), message: z.string().min(1).optional() }
  }, ({ correlation_id, message }) =>
    run(asPeer((me) =>
      call((api) => api.messages.ack({ payload: { correlation_id, ...(message ? { message } : {}) } }), me.token).pipe(
        Effect.map((r) => `${r.correlation_id} acked${r.reply ? `, reply ${r.reply.delivery}` : ""}`)
      )
    )))

  server.registerTool("notify_peer", {
    description: "Send a message to a peer (no answer tracked).",
    inputSchema: { to: z.string().min(1).describe("peer name or id"), text: z.string().min(1) }
  }, ({ text, to }) =>
    run(asPeer((me) =>
      call((api) => api.messages.notify({ payload: { from_peer: me.peer_id, to_peer: to, text } }), me.token)
        .pipe(Effect.map((r) => `sent to ${to} (${r.delivery})`))
    )))

  server.registerTool("broadcast", {
    description: "Send a message to every peer of your circle.",
    inputSchema: { text: z.string().min(1) }
  }, ({ text }) =>
    run(asPeer((me) =>
      call((api) => api.messages.broadcast({ payload: { from_peer: me.peer_id, text } }), me.token).pipe(
        Effect.map((r) =>
          r.delivered.length + r.queued.length + r.skipped.length === 0
            ? "nobody else in your circle"
            : `broadcast delivered to ${r.delivered.join(", ") || "nobody"}; queued for ${r.queued.join(", ") || "nobody"}` +
              (r.skipped.length > 0 ? `; skipped (queue full): ${r.skipped.join(", ")}` : "")
        )
      )
    )))

  server.registerTool("list_asks", {
    description: "Your asks: inbound (asked of you) or outbound (yours); open ones by default.",
    inputSchema: { direction: z.enum(["inbound", "outbound"]).optional(), open: z.boolean().optional() }
  }, ({ direction, open }) =>
    run(asPeer((me) =>
      call((api) =>
        api.asks.list({
          urlParams: { peer: me.peer_id, open: open ?? true, ...(direction ? { direction } : {}) }
        }), me.token).pipe(Effect.map(({ asks }) => asksText(asks)))
    )))

  server.registerTool("wait_on_ack", {
    description: "Wait until an ask you sent is acked (or the timeout passes) and return the reply.",
    inputSchema: { correlation_id: z.string().min(1), timeout_s: z.number().int().min(0).max(600).optional() }
  }, ({ correlation_id, timeout_s }) =>
    run(asPeer((me) =>
      call((api) => api.asks.wait({ path: { id: correlation_id }, urlParams: { timeout: timeout_s ?? 60 } }), me.token)
        .pipe(Effect.map((a) => askResultText(a, timeout_s ?? 60)))
    )))

  registerLifecycleTools(server, run)
  return server
}
