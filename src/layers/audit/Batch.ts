import { GLOBAL_CHAIN, userChain } from "../../protocol/Audit.js"
import type { AuditSigner } from "./AuditKey.js"
import type { CheckpointRow, HeadRow, RecordRow } from "./AuditRows.js"
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
 * past its last one. Pure but for the clock of a checkpoint: the writers only store the result.
 * An event's canonical body is built once (BodyParts) for both of its chains, and objects are
 * spelled out rather than spread: this loop is most of the audit worker's JavaScript.
 */
export const linkBatch = (
  events: ReadonlyArray<StampedEvent>,
  heads: Map<string, HeadRow>,
  every: number,
  signer: AuditSigner
) => {
  const records: Array<RecordRow> = []
  const checkpoints: Array<CheckpointRow> = []
  const extend = (
    chain: string,
    chainJson: string,
    event: StampedEvent,
    at: string,
    detail: string,
    parts: BodyParts
  ) => {
    const h = heads.get(chain)!
    const seq = h.seq + 1
    const hash = hashText(h.hash, bodyText(parts, chainJson, seq))
    records.push({ chain, seq, at, kind: event.kind, user_id: event.user_id, detail, prev_hash: h.hash, hash })
    const next = { chain, seq, hash, checkpoint_seq: h.checkpoint_seq, checkpoint_ms: h.checkpoint_ms }
    heads.set(chain, seq - h.checkpoint_seq >= every ? signHead(signer, next, false, checkpoints) : next)
  }
  // A user's chain name (and its JSON) once per batch, not per event; the time string once per ms.
  const userChains = new Map<string, { readonly chain: string; readonly json: string }>()
  let lastMs = Number.NaN
  let at = ""
  for (const event of events) {
    if (event.ms !== lastMs) (lastMs = event.ms, at = new Date(event.ms).toISOString())
    const detail = canonicalize(event.detail)
    const parts = bodyParts(at, event.kind, event.user_id, detail)
    extend(GLOBAL_CHAIN, GLOBAL_CHAIN_JSON, event, at, detail, parts)
    if (event.user_id !== null) {
      let user = userChains.get(event.user_id)
      if (user === undefined) {
        const chain = userChain(event.user_id)
        userChains.set(event.user_id, user = { chain, json: JSON.stringify(chain) })
      }
      extend(user.chain, user.json, event, at, detail, parts)
    }
  }
  return { records, checkpoints }
}
