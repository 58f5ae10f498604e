import { createHash, timingSafeEqual } from "node:crypto"

export const digest = (secret: string): string => createHash("sha256").update(secret).digest("hex")

/** Constant-time comparison of a secret against a stored digest. */
export const matchesDigest = (secret: string, storedDigest: string): boolean => {
  const a = Buffer.from(digest(secret), "hex")
  const b = Buffer.from(storedDigest, "hex")
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Constant-time comparison of two secrets of any length. */
export const secretsEqual = (presented: string, expected: string): boolean =>
  timingSafeEqual(Buffer.from(digest(presented), "hex"), Buffer.from(digest(expected), "hex"))
