import { Context, Data, type Effect } from "effect"

/** The peer an MCP session acts as. */
export interface CallerPeer {
  readonly peer_id: string
  readonly token: string
  readonly display_name: string
  readonly circle: string
  readonly backend: string
}

export class CallerError extends Data.TaggedError("CallerError")<{ readonly message: string }> {}

/**
 * Who the MCP tools act as. Over stdio: the agent session, resolved from its environment and
 * registered on the first call. `renew` registers again when the daemon forgot the peer.
 */
export class McpCaller extends Context.Tag("repowire/McpCaller")<McpCaller, {
  readonly get: Effect.Effect<CallerPeer, CallerError>
  readonly renew: Effect.Effect<CallerPeer, CallerError>
}>() {}
