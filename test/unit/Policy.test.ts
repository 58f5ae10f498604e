import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { makePolicyHolder } from "../../src/layers/policy/Holder.js"
import { parsePolicy } from "../../src/layers/policy/PolicyText.js"
import { decide, globMatcher, globToRegExp } from "../../src/layers/policy/Rules.js"
import type { Caller, PolicyPeer, PolicyQuestion } from "../../src/services/Policy.js"

const peer = (display_name: string, extra: Partial<PolicyPeer> = {}): PolicyPeer => ({
  peer_id: `peer-${display_name.replace(/[^a-z0-9]/g, "")}00000000`,
  display_name,
  circle: "web",
  backend: "claude-code",
  role: "agent",
  machine: "laptop",
  ...extra
})

const compiled = (text: string) => {
  const parsed = parsePolicy(text)
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
  return parsed.right
}

const local = (p: PolicyPeer | undefined): Caller => ({ peer: p, via: "local" })

/** A one-rule policy with the default opposite to the rule: the rule decides only if it matches. */
const onlyRule = (rule: string) => compiled(`default: allow\nrules:\n  - ${rule}\n`)

describe("the rule compiler and matcher", () => {
  const codex = peer("codex-1", { backend: "codex" })
  const prod = peer("prod-db", { circle: "ops", role: "service", machine: "db-host" })
  const table: ReadonlyArray<readonly [string, string, PolicyQuestion, "allow" | "deny"]> = [
    [
      "* matches any caller",
      `{effect: deny, from: "*"}`,
      { caller: local(undefined), action: "ask", target: prod },
      "deny"
    ],
    [
      "name glob *",
      `{effect: deny, from: "name:codex-*"}`,
      { caller: local(codex), action: "ask", target: prod },
      "deny"
    ],
    [
      "name glob misses",
      `{effect: deny, from: "name:claude-*"}`,
      { caller: local(codex), action: "ask", target: prod },
      "allow"
    ],
    ["name glob ? is one character", `{effect: deny, from: "name:codex-?"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "deny"],
    ["name glob ? is not two", `{effect: deny, from: "name:codex?"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "allow"],
    ["name glob is anchored", `{effect: deny, from: "name:codex"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "allow"],
    ["name glob dots are literal", `{effect: deny, from: "name:codex.1"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "allow"],
    ["name glob matches the peer id", `{effect: deny, from: "name:peer-codex1*"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "deny"],
    ["name:* needs a peer", `{effect: deny, from: "name:*"}`, {
      caller: local(undefined),
      action: "read",
      target: prod
    }, "allow"],
    [
      "circle",
      `{effect: deny, from: "*", to: "circle:ops"}`,
      { caller: local(codex), action: "notify", target: prod },
      "deny"
    ],
    ["backend", `{effect: deny, from: "backend:codex"}`, { caller: local(codex), action: "ask", target: prod }, "deny"],
    [
      "role",
      `{effect: deny, from: "*", to: "role:service"}`,
      { caller: local(codex), action: "ask", target: prod },
      "deny"
    ],
    ["machine", `{effect: deny, from: "*", to: "machine:db-host"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "deny"],
    ["via:relay matches a tunnelled caller", `{effect: deny, from: "via:relay"}`, {
      caller: { peer: codex, via: "relay" },
      action: "ask",
      target: prod
    }, "deny"],
    ["via:relay misses a local one", `{effect: deny, from: "via:relay"}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "allow"],
    ["via:local", `{effect: deny, from: "via:local"}`, { caller: local(codex), action: "ask", target: prod }, "deny"],
    ["actions narrow a rule", `{effect: deny, from: "*", actions: [notify]}`, {
      caller: local(codex),
      action: "ask",
      target: prod
    }, "allow"],
    ["an action rule does not govern tools", `{effect: deny, from: "*", actions: [broadcast]}`, {
      caller: local(codex),
      tool: "broadcast"
    }, "allow"],
    ["a tool rule governs its tool", `{effect: deny, from: "*", tools: [broadcast]}`, {
      caller: local(codex),
      tool: "broadcast"
    }, "deny"],
    ["a tool rule does not govern actions", `{effect: deny, from: "*", tools: [broadcast]}`, {
      caller: local(codex),
      action: "broadcast",
      target: prod
    }, "allow"],
    ["a rule with neither governs tools too", `{effect: deny, from: "backend:codex"}`, {
      caller: local(codex),
      tool: "ask"
    }, "deny"],
    ["a rule with a to never matches a tool", `{effect: deny, from: "*", to: "name:prod-*"}`, {
      caller: local(codex),
      tool: "ask"
    }, "allow"],
    ["a rule with a to needs a target", `{effect: deny, from: "*", to: "name:prod-*"}`, {
      caller: local(codex),
      action: "attach",
      target: undefined
    }, "allow"],
    ["to: * is any target, or none", `{effect: deny, from: "*", to: "*"}`, {
      caller: local(codex),
      action: "attach",
      target: undefined
    }, "deny"]
  ]
  for (const [what, rule, question, expected] of table) {
    it.effect(what, () =>
      Effect.sync(() => {
        const decision = decide(onlyRule(rule), question)
        assert.strictEqual(decision.effect, expected)
        assert.strictEqual(decision.rule, expected === "deny" ? 1 : undefined)
      }))
  }

  it.effect("the first matching rule wins, then the default", () =>
    Effect.sync(() => {
      const policy = compiled(`
default: deny
rules:
  - {effect: allow, from: "name:codex-1", to: "name:prod-*", actions: [read]}
  - {effect: deny, from: "backend:codex", to: "name:prod-*", actions: [ask, notify]}
  - {effect: allow, from: "backend:codex"}
`)
      const ask = decide(policy, { caller: local(codex), action: "ask", target: prod })
      assert.deepStrictEqual(ask, {
        effect: "deny",
        rule: 2,
        reason: "rule 2 (deny backend:codex → name:prod-* ask,notify)"
      })
      assert.strictEqual(decide(policy, { caller: local(codex), action: "read", target: prod }).rule, 1)
      assert.strictEqual(decide(policy, { caller: local(codex), action: "ack", target: prod }).rule, 3)
      const other = decide(policy, { caller: local(peer("claude")), action: "ask", target: prod })
      assert.deepStrictEqual(other, { effect: "deny", rule: undefined, reason: "default (deny)" })
    }))

  it.effect("an empty file allows everything; an orchestrator role is ordinary rules", () =>
    Effect.sync(() => {
      assert.strictEqual(decide(compiled(""), { caller: local(codex), action: "ask", target: prod }).effect, "allow")
      const orchestrated = compiled(`
default: deny
rules:
  - {effect: allow, from: "name:orchestrator"}
  - {effect: allow, from: "*", to: "name:orchestrator", actions: [ask, notify, ack, read]}
`)
      const boss = peer("orchestrator")
      assert.strictEqual(
        decide(orchestrated, { caller: local(boss), action: "broadcast", target: codex }).effect,
        "allow"
      )
      assert.strictEqual(decide(orchestrated, { caller: local(codex), action: "ask", target: boss }).effect, "allow")
      assert.strictEqual(decide(orchestrated, { caller: local(codex), action: "ask", target: prod }).effect, "deny")
    }))

  it.effect("globs escape every regular-expression character, and the quick shapes agree with the full one", () =>
    Effect.sync(() => {
      for (const glob of ["prod-db", "prod-*", "*-db", "p*d", "*", "?rod*", "a.b*", "*.b"]) {
        for (const name of ["prod-db", "prod-", "prod", "x-db", "-db", "pd", "", "a.bc", "axbc", "c.b"]) {
          assert.strictEqual(globMatcher(glob)(name), globToRegExp(glob).test(name), `${glob} ~ ${name}`)
        }
      }
      assert.isTrue(globToRegExp("a+b(c)[d]{e}|f^$\\g/h").test("a+b(c)[d]{e}|f^$\\g/h"))
      assert.isFalse(globToRegExp("a.b").test("axb"))
      assert.isTrue(globToRegExp("*").test(""))
      assert.isTrue(globToRegExp("a*z").test("a\nz"))
    }))
})

describe("the policy file's Schema", () => {
  const errorOf = (text: string) => {
    const parsed = parsePolicy(text)
    assert.isTrue(Either.isLeft(parsed), "the file is refused")
    return (parsed as Either.Left<{ line: number | undefined; message: string }, unknown>).left
  }

  it.effect("names the line and the reason of an unknown action, tool, selector or field", () =>
    Effect.sync(() => {
      const action = errorOf("default: allow\nrules:\n  - effect: deny\n    from: \"*\"\n    actions: [ask, shout]\n")
      assert.strictEqual(action.line, 5)
      assert.include(
        action.message,
        "rules.0.actions.1: unknown value \"shout\" (one of ask, notify, broadcast, ack, read, attach, spawn)"
      )
      const tool = errorOf("rules:\n  - effect: deny\n    from: \"*\"\n    tools:\n      - broadcast\n      - rm_rf\n")
      assert.strictEqual(tool.line, 6)
      const selector = errorOf("rules:\n  - {effect: deny, from: \"*\"}\n  - {effect: deny, from: \"team:red\"}\n")
      assert.strictEqual(selector.line, 3)
      assert.include(selector.message, "unknown selector `team:red`")
      const backend = errorOf("rules:\n  - effect: deny\n    from: \"backend:cursor\"\n")
      assert.strictEqual(backend.line, 3)
      assert.include(backend.message, "unknown backend `cursor`")
      const field = errorOf("rules:\n  - effect: deny\n    from: \"*\"\n    action: [ask]\n")
      assert.include(field.message, "rules.0")
      const viaTo = errorOf("rules:\n  - {effect: deny, from: \"*\", to: \"via:relay\"}\n")
      assert.include(viaTo.message, "use it in `from`")
      const effect = errorOf("default: maybe\n")
      assert.strictEqual(effect.line, 1)
    }))

  it.effect("names the line of a YAML syntax error", () =>
    Effect.sync(() => {
      const broken = errorOf("default: allow\nrules:\n  - effect: deny\n   from: [\n")
      assert.isDefined(broken.line)
      assert.include(broken.message, "not valid YAML")
    }))

  it.effect("a bad text keeps the rules in force and reports itself; a missing file is no policy", () =>
    Effect.sync(() => {
      const holder = makePolicyHolder("/home/policy.yaml")
      assert.strictEqual(holder.load("rules:\n  - {effect: deny, from: \"backend:codex\"}\n")._tag, "Loaded")
      const codex = { caller: local(peer("c", { backend: "codex" })), action: "ask" as const, target: undefined }
      assert.strictEqual(holder.shape.decideNow(codex).effect, "deny")
      const bad = holder.load("rules:\n  - {effect: allow, from: \"backend:codex\", actions: [yell]}\n")
      assert.strictEqual(bad._tag, "Invalid")
      assert.strictEqual(holder.shape.decideNow(codex).effect, "deny", "never falls open")
      const health = holder.shape.health()
      assert.strictEqual(health.status, "invalid")
      assert.strictEqual(health.rules, 1)
      assert.match(health.error ?? "", /^\/home\/policy\.yaml line 2: /)
      holder.load(undefined)
      assert.deepStrictEqual(holder.shape.health(), { status: "none", rules: 0 })
      assert.strictEqual(holder.shape.decideNow(codex).effect, "allow")
    }))
})
