import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Option } from "effect"
import type { McpToolName } from "../../protocol/Policy.js"
import { type DaemonApiClient, DaemonClient } from "../../services/DaemonClient.js"
import { type CallerPeer, McpCaller } from "../../services/McpCaller.js"
import { isStaleCaller, messageOf } from "../agent/Failures.js"

/** Anything that runs an Effect to an Exit: a ManagedRuntime or a Runtime fits. */
export interface EffectRunner<R> {
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<Exit.Exit<A, unknown>>
}

export type ToolContext = DaemonClient | McpCaller

/** Runs a tool's effect and turns its outcome into the tool result. */
export type ToolRun = (
  tool: McpToolName,
  effect: Effect.Effect<string, unknown, ToolContext>
) => Promise<CallToolResult>

export const toResult = (exit: Exit.Exit<string, unknown>): CallToolResult =>
  Exit.match(exit, {
    onSuccess: (text) => ({ content: [{ type: "text", text }] }),
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      const text = Option.isSome(failure)
        ? messageOf(failure.value)
        : `internal error: ${Cause.pretty(cause).split("\n")[0]}`
      return { isError: true, content: [{ type: "text", text }] }
    }
  })

/** Runs `f` as the calling peer, registering again once if the daemon forgot it. */
export const asPeer = <A, E>(f: (me: CallerPeer) => Effect.Effect<A, E, DaemonClient>) =>
  Effect.gen(function*() {
    const caller = yield* McpCaller
    const me = yield* caller.get
    return yield* f(me).pipe(Effect.catchIf(isStaleCaller(me.peer_id), () => Effect.flatMap(caller.renew, f)))
  })

export const call = <A, E>(
  f: (api: DaemonApiClient) => Effect.Effect<A, E>,
  peerToken?: string
) => Effect.flatMap(DaemonClient, (c) => c.call(f, { peerToken }))
