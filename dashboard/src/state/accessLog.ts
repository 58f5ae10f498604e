// The relay's audit records of the signed-in user, as the Access log tab shows them. The shapes
// mirror src/protocol/Audit.ts (AuditRecord, AuditPage); there is no key material in them.

export type AuditValue = string | number | boolean | null

export interface AuditRecord {
  readonly chain: string
  readonly seq: number
  readonly at: string
  readonly kind: string
  readonly user_id: string | null
  readonly detail: Readonly<Record<string, AuditValue>>
}

export interface AuditPage {
  readonly user_id: string
  readonly chain: string
  readonly head: { readonly seq: number; readonly hash: string }
  readonly records: ReadonlyArray<AuditRecord>
  readonly next_since: number | null
}

/** The client address a record names, if any. */
export const clientOf = (record: AuditRecord): string | null => {
  const client = record.detail.client
  return typeof client === "string" && client !== "" ? client : null
}

/**
 * The seqs of sign-ins (`auth_ok`) from an address no earlier sign-in of the chain came from.
 * The chain's first sign-in has nothing to compare with, so it is not "new". `records` may be
 * in any order; only the records given are compared (an older page not loaded is not seen).
 */
export const newAddressSignIns = (records: ReadonlyArray<AuditRecord>): ReadonlySet<number> => {
  const seen = new Set<string>()
  const flagged = new Set<number>()
  let signIns = 0
  for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
    if (r.kind !== "auth_ok") continue
    const client = clientOf(r)
    if (client === null) continue
    if (signIns > 0 && !seen.has(client)) flagged.add(r.seq)
    seen.add(client)
    signIns += 1
  }
  return flagged
}

const text = (v: AuditValue | undefined): string => (v === undefined || v === null ? "" : String(v))

/** One row: a label for the kind and the record's details, never bodies, cookies or keys. */
export const describeAudit = (record: AuditRecord): { readonly label: string; readonly text: string } => {
  const d = record.detail
  switch (record.kind) {
    case "auth_ok":
      return { label: "sign-in ok", text: `via ${text(d.via)}` }
    case "auth_failed":
      return { label: "sign-in failed", text: `via ${text(d.via)}` }
    case "session_created":
      return { label: "session", text: d.daemon_id ? `started · daemon ${text(d.daemon_id)}` : "started" }
    case "session_ended":
      return { label: "session", text: `ended · ${text(d.reason)}` }
    case "key_minted":
      return { label: "key minted", text: text(d.key_id) }
    case "key_revoked":
      return { label: "key revoked", text: text(d.key_id) }
    case "key_rotated":
      return { label: "key rotated", text: [text(d.revoked_key_id), text(d.key_id)].filter(Boolean).join(" → ") }
    case "registration":
      return { label: "registration", text: "" }
    case "tunnel_connected":
      return { label: "tunnel connected", text: `daemon ${text(d.daemon_id)}` }
    case "tunnel_closed":
      return { label: "tunnel closed", text: `daemon ${text(d.daemon_id)} · code ${text(d.code)}` }
    case "device_paired":
      return { label: "device paired", text: "" }
    case "request":
      return {
        label: "request",
        text: `${text(d.method)} ${text(d.path)} → ${text(d.status)} · ${text(d.bytes_in)} B in, ${
          text(d.bytes_out)
        } B out`
      }
    default:
      return { label: record.kind, text: "" }
  }
}

/**
 * The `since`/`limit` of the page of `size` records just before `before` (the oldest seq loaded,
 * or head + 1 for the newest page); null when there is nothing older.
 */
export const olderPage = (before: number, size: number): { since: number; limit: number } | null => {
  if (before <= 1) return null
  const since = Math.max(0, before - 1 - size)
  return { since, limit: before - 1 - since }
}
