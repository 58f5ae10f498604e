import { Either, ParseResult, Schema } from "effect"
import * as YAML from "yaml"
import { PolicyFile } from "../../protocol/Policy.js"
import { type CompiledPolicy, compilePolicy } from "./Rules.js"

/** Why policy.yaml cannot be used: `policy.yaml line 4: rules.1.actions.0: …`. */
export interface PolicyTextError {
  readonly line: number | undefined
  readonly message: string
}

const decodeFile = Schema.decodeUnknownEither(PolicyFile, { errors: "all" })

/** The line of the YAML node at `path`, or of its nearest ancestor that exists. */
const lineOf = (
  doc: YAML.Document,
  counter: YAML.LineCounter,
  path: ReadonlyArray<PropertyKey>
): number | undefined => {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n).map((k) => (typeof k === "symbol" ? String(k) : k)), true) as
      | { range?: [number, number, number] }
      | undefined
    if (node?.range !== undefined) return counter.linePos(node.range[0]).line
    // A key whose value is null or a scalar: find the pair's key in its parent map.
    if (n > 0) {
      const parent = doc.getIn(path.slice(0, n - 1) as Array<unknown>, true)
      if (YAML.isMap(parent)) {
        const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === path[n - 1])
        const key = pair?.key as { range?: [number, number, number] } | undefined
        if (key?.range !== undefined) return counter.linePos(key.range[0]).line
      }
    }
  }
  return undefined
}

/**
 * The deepest issue: it names the field that is wrong, not the union around it. Several
 * literals refused at one place (an unknown action or tool) read as one: "unknown value".
 */
const firstIssue = (error: ParseResult.ParseError) => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const deepest = issues.reduce<(typeof issues)[number] | undefined>(
    (best, issue) => (best === undefined || issue.path.length > best.path.length ? issue : best),
    undefined
  )
  if (deepest === undefined) return undefined
  const key = deepest.path.join("\u0000")
  const literals = issues
    .filter((i) => i.path.join("\u0000") === key)
    .map((i) => /^Expected ("[^"]*"), actual (.*)$/.exec(i.message))
  if (literals.length < 2 || literals.some((m) => m === null)) return deepest
  const expected = literals.map((m) => JSON.parse(m![1]!) as string)
  return { ...deepest, message: `unknown value ${literals[0]![2]} (one of ${expected.join(", ")})` }
}

/** policy.yaml's text decoded and compiled, or the line and reason it cannot be. */
export const parsePolicy = (text: string): Either.Either<CompiledPolicy, PolicyTextError> => {
  const counter = new YAML.LineCounter()
  let doc: YAML.Document
  try {
    doc = YAML.parseDocument(text, { lineCounter: counter, uniqueKeys: true })
  } catch (e) {
    return Either.left({ line: undefined, message: `not valid YAML: ${String(e)}` })
  }
  const broken = doc.errors[0]
  if (broken !== undefined) {
    return Either.left({
      line: broken.linePos?.[0]?.line,
      message: `not valid YAML: ${broken.message.split("\n")[0]}`
    })
  }
  let raw: unknown
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (e) {
    return Either.left({ line: undefined, message: `not valid YAML: ${e instanceof Error ? e.message : String(e)}` })
  }
  const decoded = decodeFile(raw)
  if (Either.isRight(decoded)) return Either.right(compilePolicy(decoded.right))
  const issue = firstIssue(decoded.left)
  if (issue === undefined) return Either.left({ line: undefined, message: "not a policy" })
  const where = issue.path.length === 0 ? "" : `${issue.path.map(String).join(".")}: `
  return Either.left({ line: lineOf(doc, counter, issue.path), message: `${where}${issue.message}` })
}

export const policyErrorText = (file: string, error: PolicyTextError) =>
  `${file}${error.line !== undefined ? ` line ${error.line}` : ""}: ${error.message}`
