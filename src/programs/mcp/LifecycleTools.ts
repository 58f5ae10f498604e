import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect } from "effect"
import { z } from "zod"
import { schedulesText } from "./Format.js"
import { asPeer, call, type ToolRun } from "./ToolSupport.js"

/** Tools that act on time and on agents themselves: schedules, spawning and killing agents. */
export const registerLifecycleTools = (server: McpServer, run: ToolRun) => {
  server.registerTool(
    "schedule_create",
    {
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
    },
    ({ at, circle, cron, kind, text, to_peer }) =>
      run(
        "schedule_create",
        asPeer((me) =>
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
              Effect.map((s) =>
                `${s.id}: ${s.kind} to ${s.to_name} ${
                  s.cron === null ? "at" : `on \`${s.cron}\`, next`
                } ${s.next_fire_at}`
              )
            )
        )
      )
  )

  server.registerTool(
    "schedule_list",
    {
      description: "List schedules (yours only with mine_only=true), soonest first.",
      inputSchema: { mine_only: z.boolean().optional() }
    },
    ({ mine_only }) =>
      run(
        "schedule_list",
        asPeer((me) =>
          call((api) => api.schedules.list({ urlParams: mine_only === true ? { peer: me.peer_id } : {} }), me.token)
            .pipe(
              Effect.map(({ schedules }) => schedulesText(schedules))
            )
        )
      )
  )

  server.registerTool(
    "schedule_delete",
    {
      description: "Delete one of your schedules by id.",
      inputSchema: { id: z.string().min(1) }
    },
    ({ id }) =>
      run(
        "schedule_delete",
        asPeer((me) => call((api) => api.schedules.remove({ path: { id } }), me.token).pipe(Effect.as(`${id} deleted`)))
      )
  )

  server.registerTool("spawn_peer", {
    description: "Start a new agent in a tmux window in folder `path` (absolute, under daemon.spawn.allowed_paths). " +
      "Returns its peer name at once; messages to it queue until it is up. `message` becomes its first prompt.",
    inputSchema: {
      path: z.string().min(1),
      backend: z.enum(["claude-code", "codex", "gemini", "opencode"]),
      circle: z.string().min(1).optional(),
      message: z.string().min(1).optional()
    }
  }, ({ backend, circle, message, path }) =>
    run(
      "spawn_peer",
      asPeer((me) =>
        call((api) =>
          api.spawn.spawn({
            payload: {
              path,
              backend,
              ...(circle !== undefined ? { circle } : {}),
              ...(message !== undefined ? { message } : {})
            }
          }), me.token).pipe(
            Effect.map((s) =>
              `spawned ${s.display_name} (${s.peer_id}), circle ${s.circle}, tmux ${s.tmux_session}:${s.tmux_window}, in ${s.path}`
            )
          )
      )
    ))

  server.registerTool(
    "kill_peer",
    {
      description: "Close the tmux window of an agent this daemon spawned, and mark it offline.",
      inputSchema: { peer: z.string().min(1).describe("peer name or id") }
    },
    ({ peer }) =>
      run(
        "kill_peer",
        asPeer((me) =>
          call((api) => api.spawn.kill({ path: { ref: peer } }), me.token).pipe(
            Effect.map((k) =>
              `${k.display_name} ${k.window_closed ? "killed" : "marked offline (its window had already gone)"}`
            )
          )
        )
      )
  )

  server.registerTool("claim_role", {
    description:
      "Become the orchestrator of a circle (default: yours): you then reach every circle. One per circle; a holder " +
      "that is offline is replaced, a live one only with force=true. role=agent gives the role back.",
    inputSchema: {
      role: z.enum(["orchestrator", "agent"]).optional(),
      circle: z.string().min(1).optional(),
      force: z.boolean().optional()
    }
  }, ({ circle, force, role }) =>
    run(
      "claim_role",
      asPeer((me) =>
        call((api) =>
          api.peers.claimRole({
            path: { ref: me.peer_id },
            payload: {
              role: role ?? "orchestrator",
              ...(circle !== undefined ? { circle } : {}),
              ...(force !== undefined ? { force } : {})
            }
          }), me.token).pipe(Effect.map((p) => `you are ${p.display_name}, ${p.role} of circle ${p.circle}`))
      )
    ))
}
