import type { HeaderList } from "../../../protocol/TunnelFrame.js"

/**
 * How long the body of a daemon's answer may be, from its head: a number of bytes, `undefined`
 * when it is not declared (the relay then frames it chunked), or `"invalid"` for a head that
 * declares it wrongly (a bad or repeated, differing Content-Length, or a status with no final answer).
 */
export const declaredBodyLength = (status: number, headers: HeaderList): number | undefined | "invalid" => {
  if (status < 200) return "invalid"
  const values = headers.filter(([k]) => k.toLowerCase() === "content-length").flatMap(([, v]) => v.split(","))
  const lengths = new Set(values.map((v) => v.trim()))
  if (lengths.size > 1) return "invalid"
  const [only] = lengths
  if (status === 204 || status === 304) return only === undefined || only === "0" || status === 304 ? 0 : "invalid"
  if (only === undefined) return undefined
  if (!/^\d{1,15}$/.test(only)) return "invalid"
  return Number(only)
}
