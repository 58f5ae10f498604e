import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Option } from "effect"
import { z } from "zod"
import { type CallerPeer, McpCaller } from "../../services/McpCaller.js"
import { DaemonClient, type DaemonApiClient } from "../../services/DaemonClient.js"
import { isStaleCaller, messageOf } from "../agent/Failures.js"
import { MCP_TOOLS, type McpToolName } from "../../protocol/Policy.js"
import { askResultText, asksText, peersText } from "./Format.js"
import { allowTool, deniedTools, filterToolList } from "./ToolPolicy.js"

/** Anything that runs an Effect to an Exit: a ManagedRuntime or a Runtime fits. */
export interface EffectRunner<R> {
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<Exit.Exit<A, unknown>>
}

type ToolContext = DaemonClient | McpCaller

const toResult = (exit: Exit.Exit<string, unknown>): CallToolResult =>
  Exit.match(exit, {
    onSuccess: (text) => ({ content: [{ type: "text", text }] }),
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      const text = Option.isSome(failure) ? messageOf(failure.value) : `internal error: ${Cause.pretty(cause).split("\n")[0]}`
      return { isError: true, content: [{ type: "text", text }] }
    }
  })

const asPeer = <A, E>(f: (me: CallerPeer) => Effect.Effect<A, E, DaemonClient>) =>
  Effect.gen(function*() {
    const caller = yield* McpCaller
    const me = yield* caller.get
    return yield* f(me).pipe(Effect.catchIf(isStaleCaller(me.peer_id), () => Effect.flatMap(caller.renew, f)))
  })

const call = <A, E>(
  f: (api: DaemonApiClient) => Effect.Effect<A, E>,
  peerToken?: string
) => Effect.flatMap(DaemonClient, (c) => c.call(f, { peerToken }))

/** The tools, as the access rules name them. */
export const TOOL_NAMES = MCP_TOOLS

export const makeMcpServer = (runner: EffectRunner<ToolContext>, version: string): McpServer => {
  const server = new McpServer({ name: "repowire", version })
  // Every call is put to the access rules first; a denial is a tool error naming the rule.
  const run = async (tool: McpToolName, effect: Effect.Effect<string, unknown, ToolContext>) =>
    toResult(await runner.runPromiseExit(Effect.zipRight(asPeer(allowTool(tool)), effect)))

  server.registerTool("list_peers", {
    description: "List the peers (other agent sessions) you can message. all=true includes offline ones.",
    inputSchema: { all: z.boolean().optional(), circle: z.string().optional() }
  }, ({ all, circle }) =>
    run("list_peers", asPeer((me) =>
      call((api) => api.peers.list({ urlParams: { ...(all ? { all: true } : {}), ...(circle ? { circle } : {}) } }), me.token)
        .pipe(Effect.map(({ peers }) => peersText(peers, me.peer_id)))
    )))

  server.registerTool("whoami", { description: "Your own peer: name, id, circle, status." }, () =>
    run("whoami", asPeer((me) =>
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
    run("set_description", asPeer((me) =>
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
    run("ask", asPeer((me) =>
      call((api) =>
        api.messages.ask({ payload: { from_peer: me.peer_id, to_peer: to, text, ...(reply_to ? { reply_to } : {}) } }), me.token)
        .pipe(Effect.map((r) => `${r.correlation_id} sent to ${to} (${r.delivery})`))
    )))

  server.registerTool("ack", {
    description: "Close an ask you received: bare (seen) or with your reply as message.",
    inputSchema: { correlation_id: z.string().min(1), message: z.string().min(1).optional() }
  }, ({ correlation_id, message }) =>
    run("ack", asPeer((me) =>
      call((api) => api.messages.ack({ payload: { correlation_id, ...(message ? { message } : {}) } }), me.token).pipe(
        Effect.map((r) => `${r.correlation_id} acked${r.reply ? `, reply ${r.reply.delivery}` : ""}`)
      )
    )))

  server.registerTool("notify_peer", {
    description: "Send a message to a peer (no answer tracked).",
    inputSchema: { to: z.string().min(1).describe("peer name or id"), text: z.string().min(1) }
  }, ({ text, to }) =>
    run("notify_peer", asPeer((me) =>
      call((api) => api.messages.notify({ payload: { from_peer: me.peer_id, to_peer: to, text } }), me.token)
        .pipe(Effect.map((r) => `sent to ${to} (${r.delivery})`))
    )))

  server.registerTool("broadcast", {
    description: "Send a message to every peer of your circle.",
    inputSchema: { text: z.string().min(1) }
  }, ({ text }) =>
    run("broadcast", asPeer((me) =>
      call((api) => api.messages.broadcast({ payload: { from_peer: me.peer_id, text } }), me.token).pipe(
        Effect.map((r) =>
          r.delivered.length + r.queued.length + r.skipped.length === 0
            ? "nobody else in your circle"
            : `broadcast delivered to ${r.delivered.join(", ") || "nobody"}; queued for ${r.queued.join(", ") || "nobody"}` +
              (r.skipped.length > 0 ? `; skipped: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}` : "")
        )
      )
    )))

  server.registerTool("list_asks", {
    description: "Your asks: inbound (asked of you) or outbound (yours); open ones by default.",
    inputSchema: { direction: z.enum(["inbound", "outbound"]).optional(), open: z.boolean().optional() }
  }, ({ direction, open }) =>
    run("list_asks", asPeer((me) =>
      call((api) =>
        api.asks.list({
          urlParams: { peer: me.peer_id, open: open ?? true, ...(direction ? { direction } : {}) }
        }), me.token).pipe(Effect.map(({ asks }) => asksText(asks)))
    )))

  server.registerTool("wait_on_ack", {
    description: "Wait until an ask you sent is acked (or the timeout passes) and return the reply.",
    inputSchema: { correlation_id: z.string().min(1), timeout_s: z.number().int().min(0).max(600).optional() }
  }, ({ correlation_id, timeout_s }) =>
    run("wait_on_ack", asPeer((me) =>
      call((api) => api.asks.wait({ path: { id: correlation_id }, urlParams: { timeout: timeout_s ?? 60 } }), me.token)
        .pipe(Effect.map((a) => askResultText(a, timeout_s ?? 60)))
    )))

  filterToolList(server, async () => {
    const exit = await runner.runPromiseExit(asPeer(deniedTools))
    return exit._tag === "Success" ? exit.value : undefined
  })
  return server
}
