import { ParseResult } from "effect"

/**
 * One line that names the field and what was expected, from a ParseError. Unions report one
 * issue per member; the deepest path is the one that says what is wrong.
 */
export const describeParseError = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const best = issues.reduce<(typeof issues)[number] | undefined>(
    (acc, issue) => (acc === undefined || issue.path.length > acc.path.length ? issue : acc),
    undefined
  )
  if (best === undefined) return "invalid value"
  const path = [...prefix, ...best.path].map(String).join(".")
  return path === "" ? best.message : `${path}: ${best.message}`
}
