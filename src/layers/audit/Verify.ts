import { Either } from "effect"
import {
  AuditBroken,
  type AuditCheckpoint,
  type AuditProblem,
  type AuditRecord,
  type AuditVerified,
  type ChainHead,
  GENESIS
} from "../../protocol/Audit.js"
import { checkpointSigned } from "./AuditKey.js"
import { recordHash } from "./Chain.js"

export interface ChainInput {
  readonly chain: string
  /** In the order they were read (an API page, or the store by seq). */
  readonly records: ReadonlyArray<AuditRecord>
  readonly checkpoints: ReadonlyArray<AuditCheckpoint>
  readonly publicKey: string
  /** The chain's head as its keeper reports it, when known. */
  readonly head?: ChainHead | undefined
  /** A checkpoint verified earlier (the daemon's pin): this history must extend it. */
  readonly pin?: { readonly seq: number; readonly hash: string } | undefined
}

interface Found {
  readonly seq: number
  readonly problem: AuditProblem
  readonly message: string
}

/**
 * Verifies one chain: every checkpoint's signature, every record's hash, the links between
 * records, that checkpoints match the records they name, that nothing is missing at either
 * end, and (with a pin) that the history extends what was verified before. The first bad
 * seq is named.
 */
export const verifyChain = (input: ChainInput): Either.Either<AuditVerified, AuditBroken> => {
  const { chain, checkpoints, pin, publicKey, records } = input
  const found: Array<Found> = []
  const problem = (seq: number, kind: AuditProblem, message: string) => found.push({ seq, problem: kind, message })

  const signed: Array<AuditCheckpoint> = []
  for (const cp of checkpoints) {
    if (cp.chain !== chain || !checkpointSigned(publicKey, cp)) {
      problem(cp.seq, "forged_checkpoint", `the checkpoint at seq ${cp.seq} is not signed by the relay's audit key`)
    } else signed.push(cp)
  }
  const cuts = signed.filter((c) => c.cut).sort((a, b) => a.seq - b.seq)
  const lastCut = cuts[cuts.length - 1]

  const bySeq = new Map<number, AuditRecord>()
  const seqOfHash = new Map<string, number>()
  for (const r of records) {
    if (!bySeq.has(r.seq)) bySeq.set(r.seq, r)
    seqOfHash.set(r.hash, r.seq)
  }

  let prev: AuditRecord | undefined
  for (const r of records) {
    const own = recordHash(r.prev_hash, r)
    if (r.chain !== chain) {
      problem(r.seq, "edited", `seq ${r.seq} belongs to chain ${r.chain}`)
    } else if (prev !== undefined && r.seq <= prev.seq) {
      problem(r.seq, "reordered", `seq ${r.seq} comes after seq ${prev.seq}`)
    } else if (own !== r.hash) {
      // A record moved to another seq still names the hash it followed.
      const after = seqOfHash.get(r.prev_hash)
      if (r.prev_hash !== GENESIS && after !== undefined && after + 1 !== r.seq) {
        problem(r.seq, "reordered", `seq ${r.seq} was moved: it belongs after seq ${after}`)
      } else if (r.prev_hash === GENESIS && r.seq !== 1) {
        problem(r.seq, "reordered", `seq ${r.seq} was moved: it is the chain's first record`)
      } else problem(r.seq, "edited", `seq ${r.seq} was edited: its hash does not match its content`)
    } else if (prev === undefined) {
      const start = startOf(r, pin, lastCut)
      if (start !== undefined) problem(start.seq, start.problem, start.message)
    } else if (r.seq > prev.seq + 1) {
      const missing = prev.seq + 1
      if (bySeq.has(missing)) problem(missing, "reordered", `seq ${missing} comes after seq ${r.seq} (reordered)`)
      else problem(missing, "deleted", `seq ${missing} is missing (deleted)`)
    } else if (r.prev_hash !== prev.hash) {
      problem(prev.seq, "edited", `seq ${prev.seq} was changed: seq ${r.seq} follows a different record`)
    }
    prev = r
  }

  const first = records[0]
  const last = prev
  const end = last?.seq ?? lastCut?.seq ?? 0
  if (first === undefined && lastCut === undefined && pin === undefined && (input.head?.seq ?? 0) > 0) {
    problem(1, "deleted", `the chain reports ${input.head!.seq} records but none were given`)
  }
  if (input.head !== undefined && input.head.seq > end) {
    problem(end + 1, "truncated", `the chain ends at seq ${end} but its head is seq ${input.head.seq} (truncated)`)
  }

  let matched: AuditCheckpoint | null = lastCut ?? null
  for (const cp of signed) {
    if (cp.seq > end) {
      problem(end + 1, "truncated", `the chain ends at seq ${end} but a signed checkpoint names seq ${cp.seq}`)
      continue
    }
    const r = bySeq.get(cp.seq)
    if (r === undefined) continue
    if (r.hash !== cp.hash) {
      problem(cp.seq, "rewritten", `seq ${cp.seq} does not match the relay's signed checkpoint (history rewritten)`)
    } else if (!cp.cut && (matched === null || cp.seq >= matched.seq)) matched = cp
  }

  if (pin !== undefined) {
    const covered = lastCut !== undefined && lastCut.seq >= pin.seq
    const r = bySeq.get(pin.seq)
    if (r !== undefined && r.hash !== pin.hash) {
      problem(pin.seq, "not_extending", `seq ${pin.seq} differs from the checkpoint verified before`)
    } else if (r === undefined && !covered) {
      const upTo = Math.max(end, input.head?.seq ?? 0)
      problem(
        Math.min(upTo + 1, pin.seq),
        "not_extending",
        upTo < pin.seq
          ? `the history ends at seq ${upTo}, before the checkpoint at seq ${pin.seq} verified earlier`
          : `seq ${pin.seq}, verified earlier, is missing`
      )
    }
  }

  if (found.length > 0) {
    const worst = found.reduce((a, b) => (b.seq < a.seq ? b : a))
    return Either.left(new AuditBroken({ chain, ...worst }))
  }
  return Either.right({
    chain,
    records: records.length,
    first_seq: first?.seq ?? null,
    last_seq: last?.seq ?? null,
    checkpoint: matched
  })
}

/** How a chain's first record given is anchored: genesis, the pin, or a signed retention cut. */
const startOf = (
  r: AuditRecord,
  pin: ChainInput["pin"],
  lastCut: AuditCheckpoint | undefined
): Found | undefined => {
  if (r.seq === 1) {
    return r.prev_hash === GENESIS
      ? undefined
      : { seq: 1, problem: "edited", message: "seq 1 does not start from the genesis hash" }
  }
  if (pin !== undefined && r.seq === pin.seq) {
    return r.hash === pin.hash
      ? undefined
      : { seq: r.seq, problem: "not_extending", message: `seq ${r.seq} differs from the checkpoint verified before` }
  }
  if (pin !== undefined && r.seq === pin.seq + 1) {
    return r.prev_hash === pin.hash
      ? undefined
      : {
        seq: pin.seq,
        problem: "not_extending",
        message: `seq ${pin.seq} differs from the checkpoint verified before`
      }
  }
  if (lastCut !== undefined && lastCut.seq === r.seq - 1) {
    return r.prev_hash === lastCut.hash
      ? undefined
      : { seq: r.seq, problem: "edited", message: `seq ${r.seq} does not follow the signed retention cut` }
  }
  const from = lastCut !== undefined && lastCut.seq < r.seq ? lastCut.seq + 1 : 1
  return {
    seq: from,
    problem: "deleted",
    message: `seq ${from} to ${r.seq - 1} are missing and no signed retention cut accounts for them (deleted)`
  }
}
