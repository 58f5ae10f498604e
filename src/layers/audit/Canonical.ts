/**
 * RFC 8785 (JSON Canonicalization Scheme): object keys sorted by UTF-16 code units, no
 * whitespace, numbers as ECMAScript prints them, strings escaped as JSON.stringify does.
 * That is exactly what the RFC specifies, so the serialiser is small; it refuses what JSON
 * cannot carry (NaN, Infinity, undefined, functions).
 */
export const canonicalize = (value: unknown): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false"
    case "string":
      return JSON.stringify(value)
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no ${value}`)
      return JSON.stringify(value)
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`
      const record = value as Record<string, unknown>
      if (isFlatAndSorted(record)) return JSON.stringify(record)
      let out = "{"
      for (const key of Object.keys(record).sort()) {
        const v = record[key]
        if (v === undefined) continue
        if (out.length > 1) out += ","
        out += `${JSON.stringify(key)}:${canonicalize(v)}`
      }
      return `${out}}`
    }
    default:
      throw new TypeError(`canonical JSON has no ${typeof value}`)
  }
}

/**
 * The fast path (the audit worker canonicalises every record's detail): a plain object whose
 * keys are already in UTF-16 order and whose values are all strings, finite numbers, booleans or
 * null prints, through JSON.stringify, exactly as the walk above would print it. The relay builds
 * its `request` details in that order. Held to the walk by test/relay/audit/unit.test.ts.
 */
const isFlatAndSorted = (record: Record<string, unknown>): boolean => {
  if (Object.getPrototypeOf(record) !== Object.prototype) return false
  let previous: string | undefined
  for (const key in record) {
    if (previous !== undefined && !(previous < key)) return false
    previous = key
    const v = record[key]
    if (v === null) continue
    const type = typeof v
    if (type === "string" || type === "boolean") continue
    if (type !== "number" || !Number.isFinite(v)) return false
  }
  return true
}
