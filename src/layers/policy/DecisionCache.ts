import type { Decision, PolicyPeer, PolicyQuestion } from "../../services/Policy.js"
import { type CompiledPolicy, decide } from "./Rules.js"

/** Distinct questions remembered before the cache starts over: every pair of ninety peers, about 2 MB. */
const MAX_ENTRIES = 8_192

/**
 * Each field length-prefixed, so no choice of names can make two different peers one key
 * (a field missing from an old record is its own mark, never a throw on the hot path).
 */
const field = (s: string | undefined) => s === undefined ? "~" : `${s.length}:${s}`

const peerKey = (peer: PolicyPeer | undefined) =>
  peer === undefined
    ? "-"
    : field(peer.peer_id) + field(peer.display_name) + field(peer.circle) + field(peer.backend) +
      field(peer.role) + field(peer.machine)

const questionKey = (question: PolicyQuestion) =>
  "tool" in question
    ? `t${question.caller.via}${field(question.tool)}${peerKey(question.caller.peer)}`
    : `a${question.caller.via}${field(question.action)}${peerKey(question.caller.peer)}${peerKey(question.target)}`

/**
 * `decide` remembered per question. A decision depends only on the question's fields and the
 * compiled rules, so the cache lives and dies with one compiled policy. It matters on the hot
 * path: a daemon asked 50 times a second runs `decide` too rarely for V8 to optimise the walk
 * over a hundred rules (about 70 µs a walk, measured), while a lookup stays a few µs.
 * `test/unit/PolicyCache.test.ts` holds it equal to `decide`.
 */
export const cachedDecider = (policy: CompiledPolicy) => {
  let cache = new Map<string, Decision>()
  return (question: PolicyQuestion): Decision => {
    const key = questionKey(question)
    const known = cache.get(key)
    if (known !== undefined) return known
    const decision = decide(policy, question)
    if (cache.size >= MAX_ENTRIES) cache = new Map()
    cache.set(key, decision)
    return decision
  }
}
