import { Context, Effect } from "effect"
import type { AuditEvent, AuditKeyInfo, AuditPage } from "../protocol/Audit.js"

/**
 * The relay's tamper-evident audit log. `record` only queues: a batch writer appends off the
 * request path, so a call site never waits on the disk.
 */
export interface AuditLog {
  readonly enabled: boolean
  /** Queues one event (stamped now) for the global chain and, with a user, that user's chain. */
  readonly record: (event: AuditEvent) => void
  /** Writes what is queued now. */
  readonly flush: Effect.Effect<void>
  /** A user's own chain from `since` (exclusive), at most `limit` records. */
  readonly page: (userId: string, since: number, limit: number) => Effect.Effect<AuditPage>
  readonly key: AuditKeyInfo
}

const off: AuditLog = {
  enabled: false,
  record: () => undefined,
  flush: Effect.void,
  page: (userId) =>
    Effect.succeed({
      user_id: userId,
      chain: `user:${userId}`,
      head: { seq: 0, hash: "0".repeat(64) },
      records: [],
      checkpoints: [],
      next_since: null,
      public_key: ""
    }),
  key: { algorithm: "Ed25519", public_key: "" }
}

/** Off unless a relay provides `AuditLive`: programs and tests that do not audit need not say so. */
export class Audit extends Context.Reference<Audit>()("repowire/Audit", { defaultValue: () => off }) {}
