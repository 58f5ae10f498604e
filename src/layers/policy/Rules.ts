import type { PolicyEffect, PolicyFile, PolicyRule } from "../../protocol/Policy.js"
import type { Caller, Decision, PolicyPeer, PolicyQuestion } from "../../services/Policy.js"

type Match = (subject: Caller | PolicyPeer) => boolean

interface CompiledRule {
  readonly effect: PolicyEffect
  readonly from: (caller: Caller) => boolean
  readonly to: ((target: PolicyPeer) => boolean) | undefined
  readonly actions: ReadonlySet<string> | undefined
  readonly tools: ReadonlySet<string> | undefined
  readonly decision: Decision
}

/** The compiled rule set: first match wins, then the default. */
export interface CompiledPolicy {
  readonly default: PolicyEffect
  readonly rules: ReadonlyArray<CompiledRule>
  readonly source: PolicyFile
  readonly allows: Decision
}

/** A shell-style glob (`*` any run, `?` one character), anchored, case-sensitive. */
export const globToRegExp = (glob: string): RegExp => {
  let pattern = "^"
  for (const ch of glob) {
    pattern += ch === "*" ? "[^]*" : ch === "?" ? "[^]" : ch.replace(/[.+^${}()|[\]\\/]/g, "\\$&")
  }
  return new RegExp(`${pattern}$`, "u")
}

/** A glob as a test, with the common shapes (`x`, `x*`, `*x`) done without a regular expression. */
export const globMatcher = (glob: string): (s: string) => boolean => {
  const wild = /[*?]/g
  const count = glob.match(wild)?.length ?? 0
  if (count === 0) return (s) => s === glob
  if (count === 1 && glob.endsWith("*")) {
    const prefix = glob.slice(0, -1)
    return (s) => s.startsWith(prefix)
  }
  if (count === 1 && glob.startsWith("*")) {
    const suffix = glob.slice(1)
    return (s) => s.endsWith(suffix)
  }
  const re = globToRegExp(glob)
  return (s) => re.test(s)
}

const peerOf = (subject: Caller | PolicyPeer): PolicyPeer | undefined => "via" in subject ? subject.peer : subject

/** A selector as a predicate; selectors were validated by the file's Schema. */
const compileSelector = (selector: string): Match => {
  if (selector === "*") return () => true
  const colon = selector.indexOf(":")
  const kind = selector.slice(0, colon)
  const value = selector.slice(colon + 1)
  switch (kind) {
    case "name": {
      if (value === "*") return (s) => peerOf(s) !== undefined
      const test = globMatcher(value)
      return (s) => {
        const peer = peerOf(s)
        return peer !== undefined && (test(peer.display_name) || test(peer.peer_id))
      }
    }
    case "circle":
      return (s) => peerOf(s)?.circle === value
    case "backend":
      return (s) => peerOf(s)?.backend === value
    case "role":
      return (s) => peerOf(s)?.role === value
    case "machine":
      return (s) => peerOf(s)?.machine === value
    case "via":
      // A target is always on this daemon: only a caller comes through the relay.
      return (s) => ("via" in s ? s.via : "local") === value
    default:
      throw new Error(`unvalidated selector ${selector}`)
  }
}

/** `deny backend:codex → name:prod-* ask,notify`: a rule in one line, as errors and `policy show` print it. */
export const ruleText = (rule: PolicyRule): string =>
  [
    rule.effect,
    rule.from + (rule.to !== undefined ? ` → ${rule.to}` : ""),
    ...(rule.actions !== undefined ? [rule.actions.join(",")] : []),
    ...(rule.tools !== undefined ? [`tools ${rule.tools.join(",")}`] : [])
  ].join(" ")

export const compilePolicy = (file: PolicyFile): CompiledPolicy => ({
  default: file.default,
  source: file,
  allows: { effect: file.default, rule: undefined, reason: `default (${file.default})` },
  rules: file.rules.map((rule, i) => ({
    effect: rule.effect,
    from: compileSelector(rule.from),
    to: rule.to === undefined || rule.to === "*" ? undefined : compileSelector(rule.to),
    actions: rule.actions === undefined ? undefined : new Set(rule.actions),
    tools: rule.tools === undefined ? undefined : new Set(rule.tools),
    decision: { effect: rule.effect, rule: i + 1, reason: `rule ${i + 1} (${ruleText(rule)})` }
  }))
})

/**
 * The deciding rule for a question. A rule that lists only tools governs only tool use; one
 * that lists only actions governs only actions; one with neither governs both. A rule with a
 * `to` applies only to questions about a target that matches it.
 */
export const decide = (policy: CompiledPolicy, question: PolicyQuestion): Decision => {
  const isTool = "tool" in question
  for (const rule of policy.rules) {
    if (isTool) {
      if (rule.tools !== undefined ? !rule.tools.has(question.tool) : rule.actions !== undefined) continue
      if (rule.to !== undefined) continue
    } else {
      if (rule.actions !== undefined ? !rule.actions.has(question.action) : rule.tools !== undefined) continue
      if (rule.to !== undefined && (question.target === undefined || !rule.to(question.target))) continue
    }
    if (rule.from(question.caller)) return rule.decision
  }
  return policy.allows
}

/** `codex-1 ask prod-db` — who, what, whom — for the denial's message. */
export const questionText = (question: PolicyQuestion): string => {
  const who = question.caller.peer?.display_name ?? "this caller"
  const via = question.caller.via === "relay" ? " (via the relay)" : ""
  if ("tool" in question) return `${who}${via} may not use the tool ${question.tool}`
  const whom = question.target === undefined ? "" : ` ${question.target.display_name}`
  return `${who}${via} may not ${question.action}${whom}`
}
