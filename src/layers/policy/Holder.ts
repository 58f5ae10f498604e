import { Either } from "effect"
import type { PolicyHealth } from "../../protocol/Policy.js"
import type { PolicyShape } from "../../services/Policy.js"
import { cachedDecider } from "./DecisionCache.js"
import { parsePolicy, policyErrorText } from "./PolicyText.js"
import { type CompiledPolicy, ruleText } from "./Rules.js"

/** What loading a text did: in force now, kept the previous rules, or no file. */
export type LoadOutcome =
  | { readonly _tag: "Loaded"; readonly rules: number }
  | { readonly _tag: "Invalid"; readonly message: string }
  | { readonly _tag: "Removed" }

/**
 * The policy in force and its health. A text that does not decode leaves the previous rules
 * in force (never falls open) and shows as `invalid`; a missing file means no policy.
 */
export const makePolicyHolder = (file: string) => {
  let compiled: CompiledPolicy | undefined
  let decideCached: ReturnType<typeof cachedDecider> | undefined
  let error: string | undefined

  const load = (text: string | undefined): LoadOutcome => {
    if (text === undefined) {
      compiled = undefined
      decideCached = undefined
      error = undefined
      return { _tag: "Removed" }
    }
    const parsed = parsePolicy(text)
    if (Either.isLeft(parsed)) {
      error = policyErrorText(file, parsed.left)
      return { _tag: "Invalid", message: error }
    }
    compiled = parsed.right
    decideCached = cachedDecider(compiled)
    error = undefined
    return { _tag: "Loaded", rules: compiled.rules.length }
  }

  /** An invalid file that could not even be read (mode, I/O): the same as a bad text. */
  const refuse = (message: string): LoadOutcome => {
    error = `${file}: ${message}`
    return { _tag: "Invalid", message: error }
  }

  const health = (): PolicyHealth => {
    const rules = compiled?.rules.length ?? 0
    if (error !== undefined) return { status: "invalid", error, rules }
    return compiled === undefined ? { status: "none", rules } : { status: "ok", rules }
  }

  const shape: PolicyShape = {
    active: () => compiled !== undefined,
    decideNow: (question) =>
      decideCached === undefined ? { effect: "allow", rule: undefined, reason: "no policy" } : decideCached(question),
    health,
    view: () => ({
      ...health(),
      path: file,
      default: compiled?.default ?? "allow",
      rules_in_force: (compiled?.source.rules ?? []).map((rule, i) => ({ index: i + 1, text: ruleText(rule), rule }))
    })
  }
  return { load, refuse, shape }
}
