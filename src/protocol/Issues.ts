import { ParseResult } from "effect"
import { boundedMessage } from "./JsonDepth.js"

/**
 * One line that names the field and what was expected, from a ParseError. Unions report one
 * issue per member; the deepest path says where, and a schema's own message (rather than a
 * generic "Expected …, actual …") says best what was expected.
 */
export const describeParseError = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []): string => {
  // Formatting renders the offending value; whatever it was, the answer stays one bounded line.
  try {
    return boundedMessage(describe(error, prefix))
  } catch {
    return "invalid value"
  }
}

const describe = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey>): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const best = issues.reduce<(typeof issues)[number] | undefined>(
    (acc, issue) => {
      if (acc === undefined || issue.path.length > acc.path.length) return issue
      const generic = (m: string) => m.startsWith("Expected ")
      return issue.path.length === acc.path.length && generic(acc.message) && !generic(issue.message) ? issue : acc
    },
    undefined
  )
  if (best === undefined) return "invalid value"
  const path = [...prefix, ...best.path].map(String).join(".")
  return path === "" ? best.message : `${path}: ${best.message}`
}

/**
 * A request body's decode failure in one bounded line, as the HTTP API words it: its deepest
 * issue with the path to it, else the whole error.
 */
export const decodeErrorMessage = (
  issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>,
  whole: () => string
): string => {
  const deepest = issues.reduce<(typeof issues)[number] | undefined>(
    (acc, issue) => (acc === undefined || issue.path.length > acc.path.length ? issue : acc),
    undefined
  )
  return boundedMessage(
    deepest === undefined
      ? whole()
      : deepest.path.length === 0
      ? deepest.message
      : `${deepest.path.map(String).join(".")}: ${deepest.message}`
  )
}

/** decodeErrorMessage of a ParseError; never throws, whatever value the error carries. */
export const parseErrorMessage = (error: ParseResult.ParseError): string => {
  try {
    return decodeErrorMessage(
      ParseResult.ArrayFormatter.formatErrorSync(error),
      () => ParseResult.TreeFormatter.formatErrorSync(error)
    )
  } catch {
    return "invalid value"
  }
}
