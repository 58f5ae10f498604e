import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { Effect } from "effect"
import type { McpToolName } from "../../protocol/Policy.js"
import { DaemonClient } from "../../services/DaemonClient.js"
import type { CallerPeer } from "../../services/McpCaller.js"

type RequestHandler = (
  request: unknown,
  extra: unknown
) => Promise<{ readonly tools?: ReadonlyArray<{ name: string }> }>

/** The tools the access rules deny the calling peer (the daemon decides). */
export const deniedTools = (me: CallerPeer) =>
  Effect.flatMap(DaemonClient, (client) => client.call((api) => api.policy.tools(), { peerToken: me.token })).pipe(
    Effect.map(({ denied }) => new Set<string>(denied.map((d) => d.tool)))
  )

/** The calling peer may use `tool`: fails with the daemon's policy_denied (naming the rule) when not. */
export const allowTool = (tool: McpToolName) => (me: CallerPeer) =>
  Effect.flatMap(
    DaemonClient,
    (client) => client.call((api) => api.policy.tool({ payload: { tool } }), { peerToken: me.token })
  )

/**
 * `tools/list` leaves out the tools the rules deny this peer. The SDK offers no hook for it, so
 * its own list handler (installed by the first registerTool) is wrapped in place. When the
 * daemon cannot say, every tool is listed: calling one is still checked.
 */
export const filterToolList = (server: McpServer, denied: () => Promise<ReadonlySet<string> | undefined>) => {
  const handlers = (server.server as unknown as { readonly _requestHandlers?: Map<string, RequestHandler> })
    ._requestHandlers
  const list = handlers?.get("tools/list")
  if (handlers === undefined || list === undefined) throw new Error("the MCP SDK no longer keeps a tools/list handler")
  handlers.set("tools/list", async (request, extra) => {
    const [result, hidden] = await Promise.all([list(request, extra), denied()])
    if (hidden === undefined || hidden.size === 0 || result.tools === undefined) return result
    return { ...result, tools: result.tools.filter((t) => !hidden.has(t.name)) }
  })
}
