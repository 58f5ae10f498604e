import { assert, describe, it } from "@effect/vitest"
import { canonicalize } from "../../../src/layers/audit/Canonical.js"

const ieee754 = (hex: string) => Buffer.from(hex, "hex").readDoubleBE(0)

/** RFC 8785 Appendix B: IEEE 754 values and how canonical JSON prints them. */
const APPENDIX_B: ReadonlyArray<readonly [string, string]> = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"]
]

describe("canonical JSON (RFC 8785)", () => {
  it("prints every Appendix B number as the RFC does", () => {
    for (const [hex, expected] of APPENDIX_B) assert.strictEqual(canonicalize(ieee754(hex)), expected, hex)
  })

  it("refuses NaN and Infinity", () => {
    assert.throws(() => canonicalize(ieee754("7fffffffffffffff")))
    assert.throws(() => canonicalize(ieee754("7ff0000000000000")))
  })

  it("§3.2.2: literals, numbers and string escapes", () => {
    const input = JSON.parse(
      `{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
        "literals": [null, true, false]}`
    )
    assert.strictEqual(
      canonicalize(input),
      `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA'B\\"\\\\\\\\\\"/"}`
    )
  })

  it("§3.2.3: keys sorted by UTF-16 code units", () => {
    const input = JSON.parse(`{
      "\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"}`)
    assert.strictEqual(
      canonicalize(input),
      `{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}`
    )
  })
})

describe("canonical JSON: the flat, sorted fast path", () => {
  // Strings that stress JSON's escaping and UTF-16 order: controls, quotes, U+2028, astral and lone surrogates.
  const strings = [
    "",
    "a",
    "A",
    "_",
    "~",
    "\u0000",
    "\u001f",
    "\"",
    "\\",
    "/",
    "\u2028",
    "\u00e9",
    "\u20ac",
    "\ud83d\ude00",
    "\ud800",
    "\udfff",
    "\ufb33",
    "10",
    "9"
  ]
  const numbers = [...APPENDIX_B.map(([hex]) => ieee754(hex)), 0, -0, 1, -1, 0.1, 1e21, 1e-7, 2 ** 53, 200]
  const values = [...strings, ...numbers, true, false, null]
  let seed = 7
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  const pick = <A>(xs: ReadonlyArray<A>) => xs[random(xs.length)]!
  const shuffled = <A>(xs: ReadonlyArray<A>) => {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = random(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  it("prints a flat object whose keys are in order exactly as the general walk prints it in any other order", () => {
    // The fast path only takes objects already in UTF-16 key order; a shuffled copy of the same
    // object (unless the shuffle happens to be sorted too) goes through the general walk.
    const keyParts = [...strings, "bytes_in", "bytes_out", "client", "status", "1", "01", "a1", "a\u0000"]
    let compared = 0
    for (let n = 0; n < 2000; n++) {
      const keys = [...new Set(Array.from({ length: 1 + random(10) }, () => pick(keyParts) + pick(keyParts)))].sort()
      const entries = keys.map((k) => [k, pick(values)] as const)
      const sorted = Object.fromEntries(entries)
      const other = Object.fromEntries(shuffled(entries))
      assert.strictEqual(canonicalize(sorted), canonicalize(other), JSON.stringify(entries))
      if (JSON.stringify(Object.keys(other)) !== JSON.stringify(Object.keys(sorted))) compared++
    }
    assert.isAbove(compared, 1000, "most pairs compare the fast path against the walk")
  })

  it("leaves to the walk what JSON.stringify would print differently", () => {
    // Integer-like keys come first in an object whatever their order: "9" before "10".
    assert.strictEqual(canonicalize({ 9: "a", 10: "b" }), `{"10":"b","9":"a"}`)
    assert.strictEqual(canonicalize({ a: undefined, b: 1 }), `{"b":1}`)
    assert.throws(() => canonicalize({ a: Number.NaN }))
    assert.throws(() => canonicalize({ a: Number.POSITIVE_INFINITY }))
    assert.strictEqual(canonicalize({ a: { c: 1, b: 2 } }), `{"a":{"b":2,"c":1}}`)
    assert.strictEqual(canonicalize({ a: [2, 1] }), `{"a":[2,1]}`)
    // Not a plain object: its own keys, not its toJSON.
    assert.strictEqual(canonicalize(new Date(0)), "{}")
  })

  it("the relay's request details take the fast path: their keys are already in order", () => {
    const detail = {
      bytes_in: 312,
      bytes_out: 187,
      client: "127.0.0.1",
      completed: true,
      daemon_id: "laptop",
      duration_ms: 3,
      method: "GET",
      path: "/health",
      status: 200
    }
    assert.deepStrictEqual(Object.keys(detail), Object.keys(detail).sort())
    assert.strictEqual(canonicalize(detail), JSON.stringify(detail))
  })
})
