import { GLOBAL_CHAIN, userChain } from "../../protocol/Audit.js"
import type { AuditSigner } from "./AuditKey.js"
import type { CheckpointRow, EventRow, HeadRow, RecordRow } from "./AuditRows.js"
import type { StampedEvent } from "./AuditStore.js"
import { canonicalize } from "./Canonical.js"
import { type BodyParts, bodyParts, bodyText, hashText } from "./Chain.js"

const GLOBAL_CHAIN_JSON = JSON.stringify(GLOBAL_CHAIN)

/** The chains a batch extends, sorted: every writer locks heads in this order. */
export const chainsOf = (events: ReadonlyArray<StampedEvent>): Array<string> => {
  const chains = new Set<string>([GLOBAL_CHAIN])
  for (const e of events) if (e.user_id !== null) chains.add(userChain(e.user_id))
  return [...chains].sort()
}

/** Signs `head` as a checkpoint into `out`; the head as it is after that checkpoint. */
export const signHead = (signer: AuditSigner, head: HeadRow, cut: boolean, out: Array<CheckpointRow>): HeadRow => {
  const signed = signer.sign({ chain: head.chain, seq: head.seq, hash: head.hash, at: new Date().toISOString(), cut })
  out.push({ ...signed, cut: cut ? 1 : 0 })
  return { ...head, checkpoint_seq: head.seq, checkpoint_ms: Date.now() }
}

/**
 * Links a batch onto the locked `heads` (updated in place), in order: each event on the global
 * chain and, with a user, that user's chain, a checkpoint whenever a chain grew `every` records
 * past its last one. One row per event carries both positions (EventRow). Pure but for the clock
 * of a checkpoint: the writers only store the result. An event's canonical body is built once
 * (BodyParts) for both of its chains, and objects are spelled out rather than spread: this loop is
 * most of the audit worker's JavaScript.
 */
export const linkBatch = (
  events: ReadonlyArray<StampedEvent>,
  heads: Map<string, HeadRow>,
  every: number,
  signer: AuditSigner
) => {
  const rows: Array<EventRow> = []
  const checkpoints: Array<CheckpointRow> = []
  // What the last extend linked from and to (no object per link).
  let prevHash = ""
  let hash = ""
  const extend = (chain: string, chainJson: string, parts: BodyParts): number => {
    const h = heads.get(chain)!
    const seq = h.seq + 1
    prevHash = h.hash
    hash = hashText(h.hash, bodyText(parts, chainJson, seq))
    const next = { chain, seq, hash, checkpoint_seq: h.checkpoint_seq, checkpoint_ms: h.checkpoint_ms }
    heads.set(chain, seq - h.checkpoint_seq >= every ? signHead(signer, next, false, checkpoints) : next)
    return seq
  }
  // A user's chain name (and its JSON) once per batch, not per event; the time string once per ms.
  const userChains = new Map<string, { readonly chain: string; readonly json: string }>()
  let lastMs = Number.NaN
  let at = ""
  for (const event of events) {
    if (event.ms !== lastMs) (lastMs = event.ms, at = new Date(event.ms).toISOString())
    const detail = canonicalize(event.detail)
    const parts = bodyParts(at, event.kind, event.user_id, detail)
    const seq = extend(GLOBAL_CHAIN, GLOBAL_CHAIN_JSON, parts)
    const prev_hash = prevHash
    const globalHash = hash
    let user: { readonly chain: string; readonly json: string } | undefined
    let userSeq: number | null = null
    if (event.user_id !== null) {
      user = userChains.get(event.user_id)
      if (user === undefined) {
        const chain = userChain(event.user_id)
        userChains.set(event.user_id, user = { chain, json: JSON.stringify(chain) })
      }
      userSeq = extend(user.chain, user.json, parts)
    }
    rows.push({
      seq,
      at,
      kind: event.kind,
      user_id: event.user_id,
      detail,
      prev_hash,
      hash: globalHash,
      user_chain: user === undefined ? null : user.chain,
      user_seq: userSeq,
      user_prev_hash: user === undefined ? null : prevHash,
      user_hash: user === undefined ? null : hash
    })
  }
  return { rows, checkpoints }
}

/** The records an event's rows show, in the order they were linked: global, then the user's chain. */
export const recordsOf = (rows: ReadonlyArray<EventRow>): Array<RecordRow> =>
  rows.flatMap((r) => {
    const { at, detail, kind, user_id } = r
    const global = { chain: GLOBAL_CHAIN, seq: r.seq, at, kind, user_id, detail, prev_hash: r.prev_hash, hash: r.hash }
    return r.user_chain === null ? [global] : [global, {
      chain: r.user_chain,
      seq: r.user_seq!,
      at,
      kind,
      user_id,
      detail,
      prev_hash: r.user_prev_hash!,
      hash: r.user_hash!
    }]
  })
