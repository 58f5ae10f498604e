import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Option } from "effect"
import { z } from "zod"
import { type CallerPeer, McpCaller } from "../../services/McpCaller.js"
import { DaemonClient, type DaemonApiClient } from "../../services/DaemonClient.js"
import { isStaleCaller, messageOf } from "../agent/Failures.js"
import { askResultText, asksText, peersText } from "./Format.js"
import { attachmentsSchema, either, resolveAttachments } from "./UpstreamArgs.js"

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

export const TOOL_NAMES = [
  "list_peers",
  "whoami",
  "set_description",
  "ask",
  "ack",
  "notify_peer",
  "broadcast",
  "list_asks",
  "wait_on_ack"
] as const

export const makeMcpServer = (runner: EffectRunner<ToolContext>, version: string): McpServer => {
  const server = new McpServer({ name: "repowire", version })
  const run = async (effect: Effect.Effect<string, unknown, ToolContext>) => toResult(await runner.runPromiseExit(effect))

  server.registerTool("list_peers", {
    description: "List the peers (other agent sessions) you can message. all=true includes offline ones.",
    inputSchema: {
      all: z.boolean().optional(),
      show_offline: z.boolean().optional().describe("upstream's name for all"),
      circle: z.string().optional()
    }
  }, ({ circle, show_offline, ...rest }) => {
    const all = rest.all ?? show_offline
    return run(asPeer((me) =>
      call((api) => api.peers.list({ urlParams: { ...(all ? { all: true } : {}), ...(circle ? { circle } : {}) } }), me.token)
        .pipe(Effect.map(({ peers }) => peersText(peers, me.peer_id)))
    ))
  })

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
      to: z.string().min(1).optional().describe("peer name or id"),
      peer_name: z.string().min(1).optional().describe("upstream's name for to"),
      text: z.string().min(1).optional(),
      query: z.string().min(1).optional().describe("upstream's name for text"),
      reply_to: z.string().optional().describe("an ask id this follows up"),
      circle: z.string().optional(),
      attachments: attachmentsSchema
    }
  }, (args) =>
    run(asPeer((me) =>
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
    )))

  server.registerTool("ack", {
    description: "Close an ask you received: bare (seen) or with your reply as message.",
    inputSchema: { correlation_id: z.string().min(1), message: z.string().min(1).optional(), attachments: attachmentsSchema }
  }, ({ attachments: items, correlation_id, message }) =>
    run(asPeer((me) =>
      Effect.gen(function*() {
        const attachments = yield* resolveAttachments(items, me.token)
        const payload = { correlation_id, ...(message ? { message } : {}), ...(attachments ? { attachments } : {}) }
        const r = yield* call((api) => api.messages.ack({ payload }), me.token)
        return `${r.correlation_id} acked${r.reply ? `, reply ${r.reply.delivery}` : ""}`
      })
    )))

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
    run(asPeer((me) =>
      Effect.gen(function*() {
        const to = yield* either(args.to, args.peer_name, "to (or peer_name)")
        const text = yield* either(args.text, args.message, "text (or message)")
        const attachments = yield* resolveAttachments(args.attachments, me.token)
        const payload = { from_peer: me.peer_id, to_peer: to, text, ...(attachments ? { attachments } : {}) }
        const r = yield* call((api) => api.messages.notify({ payload }), me.token)
        return `sent to ${to} (${r.delivery})`
      })
    )))

  server.registerTool("broadcast", {
    description: "Send a message to every peer of your circle.",
    inputSchema: {
      text: z.string().min(1).optional(),
      message: z.string().min(1).optional().describe("upstream's name for text"),
      attachments: attachmentsSchema
    }
  }, (args) =>
    run(asPeer((me) =>
      Effect.gen(function*() {
        const text = yield* either(args.text, args.message, "text (or message)")
        const attachments = yield* resolveAttachments(args.attachments, me.token)
        return { from_peer: me.peer_id, text, ...(attachments ? { attachments } : {}) }
      }).pipe(
        Effect.flatMap((payload) => call((api) => api.messages.broadcast({ payload }), me.token)),
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
    inputSchema: {
      correlation_id: z.string().min(1),
      timeout_s: z.number().int().min(0).max(600).optional(),
      timeout_seconds: z.number().min(0).max(600).optional().describe("upstream's name for timeout_s")
    }
  }, ({ correlation_id, timeout_s, timeout_seconds }) => {
    const timeout = timeout_s ?? (timeout_seconds !== undefined ? Math.round(timeout_seconds) : 60)
    return run(asPeer((me) =>
      call((api) => api.asks.wait({ path: { id: correlation_id }, urlParams: { timeout } }), me.token)
        .pipe(Effect.map((a) => askResultText(a, timeout)))
    ))
  })

  return server
}
