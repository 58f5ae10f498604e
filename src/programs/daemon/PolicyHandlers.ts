import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Clock, Effect } from "effect"
import { callerOf, denialMessage, makeGate } from "../../layers/policy/Gate.js"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import { Forbidden, Unauthorized } from "../../protocol/Errors.js"
import { PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { MCP_TOOLS } from "../../protocol/Policy.js"
import { EventLog } from "../../services/EventLog.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { type Decision, Policy } from "../../services/Policy.js"
import { Tunnelled } from "../../services/RequestContext.js"

const localOnly = Effect.flatMap(
  Tunnelled,
  (tunnelled) =>
    tunnelled
      ? Effect.fail(new Forbidden({ message: "the access rules are checked on the daemon's machine only" }))
      : Effect.void
)

const body = (decision: Decision) => ({
  decision: decision.effect,
  rule: decision.rule ?? null,
  reason: decision.reason
})

/** GET /policy, and the local-only POST /policy/check, GET /policy/tools, POST /policy/tool. */
export const PolicyHandlers = HttpApiBuilder.group(DaemonApi, "policy", (handlers) =>
  Effect.gen(function*() {
    const policy = yield* Policy
    const registry = yield* PeerRegistry
    const gate = makeGate(policy, yield* EventLog)

    /** The peer of the request's token: the MCP servers ask for the agent they serve. */
    const tokenPeer = Effect.gen(function*() {
      yield* localOnly.pipe(Effect.mapError((e) => new Unauthorized({ message: e.message })))
      const request = yield* HttpServerRequest.HttpServerRequest
      const token = request.headers[PEER_TOKEN_HEADER]
      const peer = token === undefined || token === ""
        ? undefined
        : registry.byTokenNow(token, yield* Clock.currentTimeMillis)
      if (peer === undefined) {
        return yield* new Unauthorized({ message: "needs the peer's token in X-Repowire-Peer-Token" })
      }
      return peer
    })

    return handlers
      .handle("show", () => Effect.sync(() => policy.view()))
      .handle("check", ({ payload }) =>
        Effect.gen(function*() {
          yield* localOnly
          const from = yield* registry.resolve(payload.from)
          const caller = callerOf(from, payload.via ?? "local")
          if (payload.tool !== undefined) return body(policy.decideNow({ caller, tool: payload.tool }))
          const target = payload.to === undefined ? undefined : yield* registry.resolve(payload.to)
          return body(policy.decideNow({ caller, action: payload.action!, target }))
        }).pipe(Effect.withSpan("PolicyHandlers.check")))
      .handle("tools", () =>
        Effect.gen(function*() {
          const caller = callerOf(yield* tokenPeer)
          const denied = MCP_TOOLS.flatMap((tool) => {
            const decision = policy.decideNow({ caller, tool })
            return decision.effect === "deny" ? [{ tool, reason: denialMessage({ caller, tool }, decision) }] : []
          })
          return { denied }
        }))
      .handle("tool", ({ payload }) =>
        Effect.gen(function*() {
          const caller = callerOf(yield* tokenPeer)
          yield* gate.checkNow({ caller, tool: payload.tool }, yield* Clock.currentTimeMillis)
          return { decision: "allow" as const }
        }))
  }))
