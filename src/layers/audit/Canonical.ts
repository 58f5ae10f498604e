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
