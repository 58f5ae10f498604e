import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import { cachedDecider } from "../../src/layers/policy/DecisionCache.js"
import { parsePolicy } from "../../src/layers/policy/PolicyText.js"
import { decide } from "../../src/layers/policy/Rules.js"
import type { PolicyAction } from "../../src/protocol/Policy.js"
import type { PolicyPeer, PolicyQuestion } from "../../src/services/Policy.js"

const compiled = (text: string) => {
  const parsed = parsePolicy(text)
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
  return parsed.right
}

// Small alphabets, so the same question (and near misses) come back often.
const word = fc.constantFrom("a", "ab", "b", "prod", "prod-db", "x:y")
const backend = fc.constantFrom("codex", "gemini", "claude-code")
const role = fc.constantFrom("agent", "service", "orchestrator")
const peerSelector = fc.oneof(
  fc.constant("*"),
  word.map((w) => `name:${w}*`),
  word.map((w) => `name:${w}`),
  word.map((w) => `circle:${w}`),
  backend.map((w) => `backend:${w}`),
  role.map((w) => `role:${w}`),
  word.map((w) => `machine:${w}`)
)
const callerSelector = fc.oneof(peerSelector, fc.constantFrom("via:relay", "via:local"))
const rule = fc.record({
  effect: fc.constantFrom("allow", "deny"),
  from: callerSelector,
  to: fc.option(peerSelector, { nil: undefined }),
  actions: fc.option(fc.subarray(["ask", "notify", "broadcast", "read"], { minLength: 1 }), { nil: undefined }),
  tools: fc.option(fc.subarray(["ask", "list_peers"], { minLength: 1 }), { nil: undefined })
})
const policyText = fc.tuple(fc.constantFrom("allow", "deny"), fc.array(rule, { maxLength: 12 })).map(
  ([def, rules]) => JSON.stringify({ default: def, rules })
)
const peer: fc.Arbitrary<PolicyPeer> = fc.record({
  peer_id: word,
  display_name: word,
  circle: word,
  backend,
  role,
  machine: word
})
/** Questions about a few peers, so the same caller meets several targets and tools. */
const questions: fc.Arbitrary<ReadonlyArray<PolicyQuestion>> = fc.array(peer, { minLength: 1, maxLength: 4 }).chain(
  (pool) => {
    const member = fc.option(fc.constantFrom(...pool), { nil: undefined, freq: 6 })
    const caller = fc.record({ peer: member, via: fc.constantFrom<"local" | "relay">("local", "relay") })
    return fc.array(
      fc.oneof(
        fc.record({
          caller,
          action: fc.constantFrom("ask", "notify", "broadcast", "read", "attach") as fc.Arbitrary<PolicyAction>,
          target: member
        }),
        fc.record({ caller, tool: fc.constantFrom("ask", "list_peers", "notify_peer") })
      ),
      { minLength: 1, maxLength: 60 }
    )
  }
)

describe("the decision cache", () => {
  it("answers every question as decide does, asked in any order and again", () => {
    fc.assert(
      fc.property(policyText, questions, (text, asked) => {
        const policy = compiled(text)
        const cached = cachedDecider(policy)
        for (const q of [...asked, ...asked.slice().reverse()]) {
          assert.deepStrictEqual(cached(q), decide(policy, q))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("keeps peers apart whose fields run together the same way", () => {
    const policy = compiled(`default: allow\nrules:\n  - {effect: deny, from: "circle:ops"}\n`)
    const cached = cachedDecider(policy)
    const base = { peer_id: "p1", backend: "codex", role: "agent", machine: "m" }
    const inOps = { ...base, display_name: "x", circle: "ops" }
    const lookalike = { ...base, display_name: "xops", circle: "" }
    assert.strictEqual(
      cached({ caller: { peer: inOps, via: "local" }, action: "ask", target: undefined }).effect,
      "deny"
    )
    assert.strictEqual(
      cached({ caller: { peer: lookalike, via: "local" }, action: "ask", target: undefined }).effect,
      "allow"
    )
  })
})
