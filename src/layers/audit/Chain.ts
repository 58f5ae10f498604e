import { hash } from "node:crypto"
import type { AuditBody, AuditRecord } from "../../protocol/Audit.js"
import { canonicalize } from "./Canonical.js"

/** hash = SHA-256(prev_hash bytes ‖ canonical JSON of the record's body), hex. */
export const recordHash = (prevHash: string, body: AuditBody): string => hashText(prevHash, canonicalize(bodyOf(body)))

/** Reused for every link: the 32 bytes of prev_hash, then the body's UTF-8. Grown on demand. */
let scratch = Buffer.allocUnsafe(4096)

/**
 * SHA-256(prev_hash bytes ‖ UTF-8 of the canonical body), hex: both parts written into one
 * buffer and hashed with node:crypto's one-shot `hash`, which costs about a third of a
 * createHash/update/update/digest (the audit worker hashes twice per event).
 */
export const hashText = (prevHash: string, canonicalBody: string): string => {
  // A UTF-16 code unit is at most 3 bytes of UTF-8, so this bound needs no byteLength pass.
  const most = (prevHash.length >>> 1) + 3 * canonicalBody.length
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, 2 * scratch.length))
  // The same bytes as Buffer.from(prevHash, "hex") followed by the body, whatever prevHash holds.
  const at = scratch.write(prevHash, 0, "hex")
  const end = at + scratch.write(canonicalBody, at, "utf8")
  return hash("sha256", scratch.subarray(0, end), "hex")
}

/**
 * The writer's fast path: the same canonical JSON as `canonicalize(bodyOf(r))` (keys in sorted
 * order, the detail already canonical), without walking the record, so an event costs one
 * canonicalisation however many chains it goes to.
 */
export const canonicalBody = (r: Omit<AuditBody, "detail">, canonicalDetail: string): string =>
  `{"at":${JSON.stringify(r.at)},"chain":${JSON.stringify(r.chain)},"detail":${canonicalDetail},"kind":${
    JSON.stringify(r.kind)
  },"seq":${r.seq},"user_id":${r.user_id === null ? "null" : JSON.stringify(r.user_id)}}`

/**
 * The record after `prev`, hashed through the fast path; `detail` is already canonical JSON.
 * Objects are spelled out rather than spread: in the audit worker's loop a spread costs more
 * than the hash.
 */
export const linkText = (
  prev: { readonly seq: number; readonly hash: string },
  body: Omit<AuditBody, "seq" | "detail">,
  canonicalDetail: string
) => {
  const seq = prev.seq + 1
  const { at, chain, kind, user_id } = body
  const hash = hashText(prev.hash, canonicalBody({ at, chain, kind, seq, user_id }, canonicalDetail))
  return { chain, seq, at, kind, user_id, prev_hash: prev.hash, hash }
}

/** The fields a record's hash covers, whatever else the value carries. */
export const bodyOf = (r: AuditBody): AuditBody => ({
  chain: r.chain,
  seq: r.seq,
  at: r.at,
  kind: r.kind,
  user_id: r.user_id,
  detail: r.detail
})

/** The record that follows `prev` on its chain. */
export const link = (prev: { readonly seq: number; readonly hash: string }, body: Omit<AuditBody, "seq">) => {
  const full: AuditBody = { ...body, seq: prev.seq + 1 }
  return { ...full, prev_hash: prev.hash, hash: recordHash(prev.hash, full) } satisfies AuditRecord
}
