import { createHash } from "node:crypto"
import type { AuditBody, AuditRecord } from "../../protocol/Audit.js"
import { canonicalize } from "./Canonical.js"

/** hash = SHA-256(prev_hash bytes ‖ canonical JSON of the record's body), hex. */
export const recordHash = (prevHash: string, body: AuditBody): string =>
  createHash("sha256").update(Buffer.from(prevHash, "hex")).update(canonicalize(bodyOf(body)), "utf8").digest("hex")

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
