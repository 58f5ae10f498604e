import { Context, Data } from "effect"
import type { PolicyAction, PolicyEffect, PolicyHealth, PolicyView } from "../protocol/Policy.js"

/** How a request arrived: through the relay tunnel, or on this machine. */
export type Via = "local" | "relay"

/** What the rules know of a peer. */
export interface PolicyPeer {
  readonly peer_id: string
  readonly display_name: string
  readonly circle: string
  readonly backend: string
  readonly role: string
  readonly machine: string
}

/** The caller: a peer (absent for a local reader that named none), and the way it came in. */
export interface Caller {
  readonly peer: PolicyPeer | undefined
  readonly via: Via
}

/** One question put to the rules: an action on a target, or the use of an MCP tool. */
export type PolicyQuestion =
  | { readonly caller: Caller; readonly action: PolicyAction; readonly target: PolicyPeer | undefined }
  | { readonly caller: Caller; readonly tool: string }

export interface Decision {
  readonly effect: PolicyEffect
  /** 1-based index of the deciding rule; undefined when the default decided. */
  readonly rule: number | undefined
  /** `rule 2 (deny backend:codex → name:prod-* ask)` or `default (deny)`. */
  readonly reason: string
}

/**
 * The access rules of policy.yaml, compiled and held in memory. `decideNow` is synchronous:
 * the daemon's hot path asks it on every message. With no policy file every question is
 * allowed (the circles alone decide, as before). The default value is that empty policy, so
 * a program that provides none runs with today's rules.
 */
export class Policy extends Context.Reference<Policy>()("repowire/Policy", {
  defaultValue: (): PolicyShape => PolicyNone
}) {}

export interface PolicyShape {
  /** False while no policy is in force: callers may skip building questions. */
  readonly active: () => boolean
  readonly decideNow: (question: PolicyQuestion) => Decision
  /** The `policy` block of GET /health. */
  readonly health: () => PolicyHealth
  /** GET /policy: the rules in force. */
  readonly view: () => PolicyView
}

const allowAll: Decision = { effect: "allow", rule: undefined, reason: "no policy" }

export const PolicyNone: PolicyShape = {
  active: () => false,
  decideNow: () => allowAll,
  health: () => ({ status: "none", rules: 0 }),
  view: () => ({ status: "none", rules: 0, path: "", default: "allow", rules_in_force: [] })
}

/** policy.yaml at start-up cannot be used: the daemon refuses to start, naming the line. */
export class PolicyFileError extends Data.TaggedError("PolicyFileError")<{ readonly message: string }> {}
