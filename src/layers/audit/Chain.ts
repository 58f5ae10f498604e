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
 * An event's canonical body but for its chain and seq, which are all that differ between the
 * records of one event on the global chain and its user's chain: built once per event.
 */
export interface BodyParts {
  readonly before: string
  readonly middle: string
  readonly after: string
}

/** `detail` is already canonical JSON; the keys in sorted order (at, chain, detail, kind, seq, user_id). */
export const bodyParts = (
  at: string,
  kind: string,
  user_id: string | null,
  canonicalDetail: string
): BodyParts => ({
  before: `{"at":${JSON.stringify(at)},"chain":`,
  middle: `,"detail":${canonicalDetail},"kind":${JSON.stringify(kind)},"seq":`,
  after: `,"user_id":${user_id === null ? "null" : JSON.stringify(user_id)}}`
})

/** The body on one chain: `chainJson` is JSON.stringify(chain). */
export const bodyText = (parts: BodyParts, chainJson: string, seq: number): string =>
  parts.before + chainJson + parts.middle + seq + parts.after

/**
 * The writer's fast path: the same canonical JSON as `canonicalize(bodyOf(r))` (keys in sorted
 * order, the detail already canonical), without walking the record.
 */
export const canonicalBody = (r: Omit<AuditBody, "detail">, canonicalDetail: string): string =>
  bodyText(bodyParts(r.at, r.kind, r.user_id, canonicalDetail), JSON.stringify(r.chain), r.seq)

/** The record after `prev`, hashed through the fast path; `detail` is already canonical JSON. */
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
