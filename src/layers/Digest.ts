import * as crypto from "node:crypto"
import { timingSafeEqual } from "node:crypto"

/**
 * A secret's SHA-256, in hex. Every agent request looks its peer up by this digest:
 * `crypto.hash` (Node 20.12+) does it in one call, without a Hash object per request.
 */
export const digest: (secret: string) => string = typeof crypto.hash === "function"
  ? (secret) => crypto.hash("sha256", secret, "hex")
  : (secret) => crypto.createHash("sha256").update(secret).digest("hex")

/** Constant-time comparison of a secret against a stored digest. */
export const matchesDigest = (secret: string, storedDigest: string): boolean => {
  const a = Buffer.from(digest(secret), "hex")
  const b = Buffer.from(storedDigest, "hex")
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Constant-time comparison of two secrets of any length. */
export const secretsEqual = (presented: string, expected: string): boolean =>
  timingSafeEqual(Buffer.from(digest(presented), "hex"), Buffer.from(digest(expected), "hex"))
