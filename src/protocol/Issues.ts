import { ParseResult } from "effect"

/**
 * One line that names the field and what was expected, from a ParseError. Unions report one
 * issue per member; the deepest path says where, and a schema's own message (rather than a
 * generic "Expected …, actual …") says best what was expected.
 */
export const describeParseError = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []): string => {
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
