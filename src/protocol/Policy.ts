import { Schema } from "effect"
import { Backend, Role } from "./Peer.js"
import { strict } from "./Strict.js"

/** What a rule governs. `spawn` is accepted for the agent lifecycle's use. */
export const POLICY_ACTIONS = ["ask", "notify", "broadcast", "ack", "read", "attach", "spawn"] as const
export const PolicyAction = Schema.Literal(...POLICY_ACTIONS)
export type PolicyAction = typeof PolicyAction.Type

/** The MCP tools a rule may name (`repowire mcp` and `/mcp` register exactly these). */
export const MCP_TOOLS = [
  "list_peers",
  "whoami",
  "set_description",
  "ask",
  "ack",
  "notify_peer",
  "broadcast",
  "list_asks",
  "wait_on_ack",
  "schedule_create",
  "schedule_list",
  "schedule_delete",
  "spawn_peer",
  "kill_peer",
  "claim_role"
] as const
export const McpToolName = Schema.Literal(...MCP_TOOLS)
export type McpToolName = typeof McpToolName.Type

const backends = new Set<string>(Backend.literals)
const roles = new Set<string>(Role.literals)

/** Why a selector is not one, or undefined when it is. */
export const selectorProblem = (selector: string): string | undefined => {
  if (selector === "*") return undefined
  const colon = selector.indexOf(":")
  const kind = colon < 0 ? selector : selector.slice(0, colon)
  const value = colon < 0 ? "" : selector.slice(colon + 1)
  const known = "*, name:GLOB, circle:NAME, backend:NAME, role:NAME, machine:NAME, via:relay, via:local"
  switch (kind) {
    case "name":
    case "circle":
    case "machine":
      return value === "" ? `selector \`${selector}\` needs a value after \`${kind}:\`` : undefined
    case "backend":
      return backends.has(value) ? undefined : `unknown backend \`${value}\` (one of ${[...backends].join(", ")})`
    case "role":
      return roles.has(value) ? undefined : `unknown role \`${value}\` (one of ${[...roles].join(", ")})`
    case "via":
      return value === "relay" || value === "local" ? undefined : `unknown via \`${value}\` (relay or local)`
    default:
      return `unknown selector \`${selector}\` (one of ${known})`
  }
}

export const Selector = Schema.String.pipe(
  Schema.filter((s) => selectorProblem(s) ?? true),
  Schema.annotations({ identifier: "Selector" })
)

export const PolicyEffect = Schema.Literal("allow", "deny")
export type PolicyEffect = typeof PolicyEffect.Type

export const PolicyRule = Schema.Struct({
  effect: PolicyEffect,
  from: Selector,
  to: Schema.optional(Selector.pipe(
    Schema.filter((s) => !s.startsWith("via:") || "`via:` describes the caller: use it in `from`")
  )),
  actions: Schema.optional(Schema.Array(PolicyAction).pipe(Schema.minItems(1))),
  tools: Schema.optional(Schema.Array(McpToolName).pipe(Schema.minItems(1)))
}).pipe(strict)
export type PolicyRule = typeof PolicyRule.Type

/** `$REPOWIRE_HOME/policy.yaml`. */
export const PolicyFile = Schema.Struct({
  default: Schema.optionalWith(PolicyEffect, { default: () => "allow" as const }),
  rules: Schema.optionalWith(Schema.Array(PolicyRule), { default: () => [] })
}).pipe(strict)
export type PolicyFile = typeof PolicyFile.Type

/** The policy block of `GET /health`. */
export const PolicyHealth = Schema.Struct({
  status: Schema.Literal("ok", "invalid", "none"),
  error: Schema.optional(Schema.String),
  rules: Schema.Int
})
export type PolicyHealth = typeof PolicyHealth.Type

/** `GET /policy`: the rules in force, read-only. */
export const PolicyView = Schema.Struct({
  ...PolicyHealth.fields,
  path: Schema.String,
  default: PolicyEffect,
  rules_in_force: Schema.Array(Schema.Struct({ index: Schema.Int, text: Schema.String, rule: PolicyRule }))
})
export type PolicyView = typeof PolicyView.Type

/** `POST /policy/check` (local only): what the rules decide, without doing it. */
export const PolicyCheckRequest = Schema.Struct({
  from: Schema.String.pipe(Schema.minLength(1)),
  to: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  action: Schema.optional(PolicyAction),
  tool: Schema.optional(McpToolName),
  via: Schema.optional(Schema.Literal("local", "relay"))
}).pipe(
  strict,
  Schema.filter((r) =>
    (r.tool !== undefined) !== (r.action !== undefined) || "give either `action` (with `to`) or `tool`"
  )
)
export type PolicyCheckRequest = typeof PolicyCheckRequest.Type

export const PolicyDecisionBody = Schema.Struct({
  decision: PolicyEffect,
  /** 1-based index of the deciding rule; null when the default decided. */
  rule: Schema.NullOr(Schema.Int),
  reason: Schema.String
})
export type PolicyDecisionBody = typeof PolicyDecisionBody.Type

/** `POST /policy/tool`: the calling peer may use this MCP tool (403 policy_denied when not). */
export const PolicyToolRequest = Schema.Struct({ tool: McpToolName }).pipe(strict)
export const PolicyToolList = Schema.Struct({
  denied: Schema.Array(Schema.Struct({ tool: McpToolName, reason: Schema.String }))
})
export type PolicyToolList = typeof PolicyToolList.Type
