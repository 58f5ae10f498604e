import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect } from "effect"
import { z } from "zod"
import { reachableFrom } from "../../layers/Reach.js"
import { MCP_TOOLS, type McpToolName } from "../../protocol/Policy.js"
import { askResultText, asksText, peersText } from "./Format.js"
import { registerLifecycleTools } from "./LifecycleTools.js"
import { allowTool, deniedTools, filterToolList } from "./ToolPolicy.js"
import { asPeer, call, type EffectRunner, type ToolContext, toResult } from "./ToolSupport.js"
import { attachmentsSchema, either, resolveAttachments } from "./UpstreamArgs.js"

export type { EffectRunner } from "./ToolSupport.js"

/** The tools, as the access rules name them. */
export const TOOL_NAMES = MCP_TOOLS

export const makeMcpServer = (runner: EffectRunner<ToolContext>, version: string): McpServer => {
  const server = new McpServer({ name: "repowire", version })
  // Every call is put to the access rules first; a denial is a tool error naming the rule.
  const run = async (tool: McpToolName, effect: Effect.Effect<string, unknown, ToolContext>) =>
    toResult(await runner.runPromiseExit(Effect.zipRight(asPeer(allowTool(tool)), effect)))

  server.registerTool("list_peers", {
    description:
      "List the peers (other agent sessions) you can message: your circle by default, every circle for an orchestrator. " +
      "all=true includes offline ones.",
    inputSchema: {
      all: z.boolean().optional(),
      show_offline: z.boolean().optional().describe("upstream's name for all"),
      circle: z.string().optional()
    }
  }, ({ circle, show_offline, ...rest }) => {
    const all = rest.all ?? show_offline
    return run(
      "list_peers",
      asPeer((me) =>
        Effect.gen(function*() {
          const self = yield* call((api) => api.peers.get({ path: { ref: me.peer_id } }), me.token)
          const { peers } = yield* call(
            (api) => api.peers.list({ urlParams: { ...(all ? { all: true } : {}), ...(circle ? { circle } : {}) } }),
            me.token
          )
          // By default, the peers the caller reaches: its circle (and everyone in every circle), or all for an orchestrator.
          const shown = circle === undefined ? reachableFrom(self, peers) : peers
          return peersText(shown, me.peer_id)
        })
      )
    )
  })

  server.registerTool(
    "whoami",
    { description: "Your own peer: name, id, circle, status." },
    () =>
      run(
        "whoami",
        asPeer((me) =>
          call((api) => api.peers.get({ path: { ref: me.peer_id } }), me.token).pipe(
            Effect.map((p) =>
              `you are ${p.display_name} (${p.peer_id}), circle ${p.circle}, backend ${p.backend}, ${p.status}` +
              (p.description ? `\ndescription: ${p.description}` : "")
            )
          )
        )
      )
  )

  server.registerTool(
    "set_description",
    {
      description: "Say what you are working on; other peers see it in list_peers.",
      inputSchema: { description: z.string().max(2000) }
    },
    ({ description }) =>
      run(
        "set_description",
        asPeer((me) =>
          call((api) => api.peers.setDescription({ path: { ref: me.peer_id }, payload: { description } }), me.token)
            .pipe(Effect.as("description set"))
        )
      )
  )

  server.registerTool("ask", {
    description:
      "Ask another peer a question. Returns an ask id at once; the answer arrives later as a message (or use wait_on_ack).",
    inputSchema: {
      to: z.string().min(1).optional().describe("peer name or id"),
      peer_name: z.string().min(1).optional().describe("upstream's name for to"),
      text: z.string().min(1).optional(),
      query: z.string().min(1).optional().describe("upstream's name for text"),
      reply_to: z.string().optional().describe("an ask id this follows up"),
      circle: z.string().optional(),
      attachments: attachmentsSchema
    }
  }, (args) =>
    run(
      "ask",
      asPeer((me) =>
        Effect.gen(function*() {
          const to = yield* either(args.to, args.peer_name, "to (or peer_name)")
          const text = yield* either(args.text, args.query, "text (or query)")
          const attachments = yield* resolveAttachments(args.attachments, me.token)
          const payload = {
            from_peer: me.peer_id,
            to_peer: to,
            text,
            ...(args.reply_to ? { reply_to: args.reply_to } : {}),
            ...(args.circle ? { circle: args.circle } : {}),
            ...(attachments ? { attachments } : {})
          }
          const r = yield* call((api) => api.messages.ask({ payload }), me.token)
          return `${r.correlation_id} sent to ${to} (${r.delivery})`
        })
      )
    ))

  server.registerTool("ack", {
    description: "Close an ask you received: bare (seen) or with your reply as message.",
    inputSchema: {
      correlation_id: z.string().min(1),
      message: z.string().min(1).optional(),
      attachments: attachmentsSchema
    }
  }, ({ attachments: items, correlation_id, message }) =>
    run(
      "ack",
      asPeer((me) =>
        Effect.gen(function*() {
          const attachments = yield* resolveAttachments(items, me.token)
          const payload = { correlation_id, ...(message ? { message } : {}), ...(attachments ? { attachments } : {}) }
          const r = yield* call((api) => api.messages.ack({ payload }), me.token)
          return `${r.correlation_id} acked${r.reply ? `, reply ${r.reply.delivery}` : ""}`
        })
      )
    ))

  server.registerTool("notify_peer", {
    description: "Send a message to a peer (no answer tracked).",
    inputSchema: {
      to: z.string().min(1).optional().describe("peer name or id"),
      peer_name: z.string().min(1).optional().describe("upstream's name for to"),
      text: z.string().min(1).optional(),
      message: z.string().min(1).optional().describe("upstream's name for text"),
      attachments: attachmentsSchema
    }
  }, (args) =>
    run(
      "notify_peer",
      asPeer((me) =>
        Effect.gen(function*() {
          const to = yield* either(args.to, args.peer_name, "to (or peer_name)")
          const text = yield* either(args.text, args.message, "text (or message)")
          const attachments = yield* resolveAttachments(args.attachments, me.token)
          const payload = { from_peer: me.peer_id, to_peer: to, text, ...(attachments ? { attachments } : {}) }
          const r = yield* call((api) => api.messages.notify({ payload }), me.token)
          return `sent to ${to} (${r.delivery})`
        })
      )
    ))

  server.registerTool("broadcast", {
    description: "Send a message to every peer of your circle.",
    inputSchema: {
      text: z.string().min(1).optional(),
      message: z.string().min(1).optional().describe("upstream's name for text"),
      attachments: attachmentsSchema,
      scope: z.enum(["local", "mesh"]).optional().describe(
        "local (default): this machine's peers; mesh: the peers of linked machines too"
      )
    }
  }, (args) =>
    run(
      "broadcast",
      asPeer((me) =>
        Effect.gen(function*() {
          const text = yield* either(args.text, args.message, "text (or message)")
          const attachments = yield* resolveAttachments(args.attachments, me.token)
          return {
            from_peer: me.peer_id,
            text,
            ...(attachments ? { attachments } : {}),
            ...(args.scope === undefined ? {} : { scope: args.scope })
          }
        }).pipe(
          Effect.flatMap((payload) => call((api) => api.messages.broadcast({ payload }), me.token)),
          Effect.map((r) =>
            r.delivered.length + r.queued.length + r.skipped.length === 0
              ? "nobody else in your circle"
              : `broadcast delivered to ${r.delivered.join(", ") || "nobody"}; queued for ${
                r.queued.join(", ") || "nobody"
              }` +
                (r.skipped.length > 0 ? `; skipped: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}` : "")
          )
        )
      )
    ))

  server.registerTool("list_asks", {
    description: "Your asks: inbound (asked of you) or outbound (yours); open ones by default.",
    inputSchema: { direction: z.enum(["inbound", "outbound"]).optional(), open: z.boolean().optional() }
  }, ({ direction, open }) =>
    run(
      "list_asks",
      asPeer((me) =>
        call((api) =>
          api.asks.list({
            urlParams: { peer: me.peer_id, open: open ?? true, ...(direction ? { direction } : {}) }
          }), me.token).pipe(Effect.map(({ asks }) => asksText(asks)))
      )
    ))

  server.registerTool("wait_on_ack", {
    description: "Wait until an ask you sent is acked (or the timeout passes) and return the reply.",
    inputSchema: {
      correlation_id: z.string().min(1),
      timeout_s: z.number().int().min(0).max(600).optional(),
      timeout_seconds: z.number().min(0).max(600).optional().describe("upstream's name for timeout_s")
    }
  }, ({ correlation_id, timeout_s, timeout_seconds }) => {
    const timeout = timeout_s ?? (timeout_seconds !== undefined ? Math.round(timeout_seconds) : 60)
    return run(
      "wait_on_ack",
      asPeer((me) =>
        call((api) => api.asks.wait({ path: { id: correlation_id }, urlParams: { timeout } }), me.token)
          .pipe(Effect.map((a) => askResultText(a, timeout)))
      )
    )
  })

  registerLifecycleTools(server, run)

  filterToolList(server, async () => {
    const exit = await runner.runPromiseExit(asPeer(deniedTools))
    return exit._tag === "Success" ? exit.value : undefined
  })
  return server
}
