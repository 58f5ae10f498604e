import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import fc from "fast-check"
import * as YAML from "yaml"
import { parsePolicy } from "../../src/layers/policy/PolicyText.js"
import { decide } from "../../src/layers/policy/Rules.js"

/** Never throws: a file is a compiled policy or an error with a message. */
const survives = (text: string) => {
  const parsed = parsePolicy(text)
  if (Either.isLeft(parsed)) {
    assert.isString(parsed.left.message)
    assert.isTrue(parsed.left.line === undefined || Number.isInteger(parsed.left.line))
    return
  }
  const peer = {
    peer_id: "peer-00000000",
    display_name: "x",
    circle: "c",
    backend: "codex",
    role: "agent",
    machine: "m"
  }
  decide(parsed.right, { caller: { peer, via: "relay" }, action: "ask", target: peer })
  decide(parsed.right, { caller: { peer: undefined, via: "local" }, tool: "broadcast" })
}

const selector = fc.oneof(
  fc.constantFrom(
    "*",
    "name:*",
    "via:relay",
    "via:local",
    "backend:codex",
    "role:human",
    "circle:",
    "bogus",
    "name:[",
    "via:"
  ),
  fc.string().map((s) => `name:${s}`),
  fc.string()
)
const rule = fc.record({
  effect: fc.oneof(fc.constantFrom("allow", "deny"), fc.anything()),
  from: fc.oneof(selector, fc.anything()),
  to: fc.option(selector, { nil: undefined }),
  actions: fc.option(fc.array(fc.oneof(fc.constantFrom("ask", "notify", "spawn", "read"), fc.string())), {
    nil: undefined
  }),
  tools: fc.option(fc.array(fc.oneof(fc.constantFrom("broadcast", "ask"), fc.anything())), { nil: undefined }),
  extra: fc.option(fc.anything(), { nil: undefined })
}, { requiredKeys: [] })

describe("the policy decoder under fuzz", () => {
  it.effect("arbitrary text never crashes it", () =>
    Effect.sync(() => fc.assert(fc.property(fc.string({ maxLength: 400 }), survives), { numRuns: 500 })))

  it.effect("YAML-looking fragments never crash it", () =>
    Effect.sync(() => {
      const token = fc.constantFrom(
        "default:",
        "rules:",
        "- ",
        "effect:",
        "from:",
        "to:",
        "actions:",
        "tools:",
        "[",
        "]",
        "{",
        "}",
        "&a",
        "*a",
        "!!binary",
        "allow",
        "deny",
        "\n",
        "  ",
        ":",
        "'",
        "\"",
        "#",
        "---",
        "...",
        "?",
        "|",
        ">",
        "~",
        "null",
        "1e999"
      )
      fc.assert(fc.property(fc.array(token, { maxLength: 60 }).map((t) => t.join("")), survives), { numRuns: 500 })
    }))

  it.effect("well-formed YAML of any shape never crashes it", () =>
    Effect.sync(() => {
      const shape = fc.oneof(
        fc.anything(),
        fc.record({ default: fc.anything(), rules: fc.anything() }, { requiredKeys: [] }),
        fc.record({ default: fc.constantFrom("allow", "deny"), rules: fc.array(rule, { maxLength: 6 }) })
      )
      fc.assert(
        fc.property(shape, (value) => {
          let text: string
          try {
            text = YAML.stringify(value)
          } catch {
            return
          }
          survives(text)
        }),
        { numRuns: 500 }
      )
    }))

  it.effect("alias bombs are refused, not expanded", () =>
    Effect.sync(() => {
      const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
      for (let i = 0; i < 9; i++) {
        bomb.push(
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${
            Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")
          }]`
        )
      }
      const parsed = parsePolicy(bomb.join("\n"))
      assert.isTrue(Either.isLeft(parsed))
    }))
})
