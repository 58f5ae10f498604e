import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect } from "effect"
import { z } from "zod"
import { schedulesText } from "./Format.js"
import { asPeer, call, type ToolRun } from "./ToolSupport.js"

export const LIFECYCLE_TOOL_NAMES = ["schedule_create", "schedule_list", "schedule_delete"] as const

/** Tools that act on time and on agents themselves: schedules. */
export const registerLifecycleTools = (server: McpServer, run: ToolRun) => {
  server.registerTool("schedule_create", {
    description:
      "Send a message later (at) or on a cron, as you. at: ISO 8601 (UTC unless it has an offset) or 30s, 10m, 2h, 1d. " +
      "cron: five fields (minute hour day month weekday, UTC) or @hourly, @daily, @weekly. kind ask tracks an answer.",
    inputSchema: {
      to_peer: z.string().min(1).describe("peer name or id"),
      text: z.string().min(1),
      at: z.string().min(1).optional(),
      cron: z.string().min(1).optional(),
      kind: z.enum(["notify", "ask"]).optional(),
      circle: z.string().min(1).optional().describe("the circle to find to_peer in")
    }
  }, ({ at, circle, cron, kind, text, to_peer }) =>
    run(asPeer((me) =>
      call((api) =>
        api.schedules.create({
          payload: {
            from_peer: me.peer_id,
            to_peer,
            text,
            ...(at !== undefined ? { at } : {}),
            ...(cron !== undefined ? { cron } : {}),
            ...(kind !== undefined ? { kind } : {}),
            ...(circle !== undefined ? { circle } : {})
          }
        }), me.token).pipe(
          Effect.map((s) => `${s.id}: ${s.kind} to ${s.to_name} ${s.cron === null ? "at" : `on \`${s.cron}\`, next`} ${s.next_fire_at}`)
        )
    )))

  server.registerTool("schedule_list", {
    description: "List schedules (yours only with mine_only=true), soonest first.",
    inputSchema: { mine_only: z.boolean().optional() }
  }, ({ mine_only }) =>
    run(asPeer((me) =>
      call((api) => api.schedules.list({ urlParams: mine_only === true ? { peer: me.peer_id } : {} }), me.token).pipe(
        Effect.map(({ schedules }) => schedulesText(schedules))
      )
    )))

  server.registerTool("schedule_delete", {
    description: "Delete one of your schedules by id.",
    inputSchema: { id: z.string().min(1) }
  }, ({ id }) =>
    run(asPeer((me) =>
      call((api) => api.schedules.remove({ path: { id } }), me.token).pipe(Effect.as(`${id} deleted`))
    )))
}
