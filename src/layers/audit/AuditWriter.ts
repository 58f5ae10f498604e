import type { SqlError } from "@effect/sql"
import { Data, type Effect } from "effect"
import type { StampedEvent } from "./AuditStore.js"

/** The audit worker could not be started, or died, or its store refused a write. */
export class AuditWriteFailed extends Data.TaggedError("AuditWriteFailed")<{ readonly message: string }> {}

/**
 * What AuditLive's queue writes through: the store's writes, run on this thread (the CLI, a
 * store in memory) or in the audit worker (the relay: see AuditWorkerClient).
 */
export interface AuditWriter {
  readonly append: (events: ReadonlyArray<StampedEvent>) => Effect.Effect<void, AuditWriteFailed | SqlError.SqlError>
  readonly checkpointDue: (olderThanMs: number) => Effect.Effect<number, AuditWriteFailed | SqlError.SqlError>
  readonly retain: (before: string) => Effect.Effect<number, AuditWriteFailed | SqlError.SqlError>
}

/** Where the audit worker opens its own connection to the relay's store. */
export interface AuditWorkerInit {
  /** Undefined: the worker only appends (see AuditLive). */
  readonly keyDir: string | undefined
  /** PostgreSQL (a plain string: a Redacted does not cross postMessage); else `sqliteFile`. */
  readonly databaseUrl: string | undefined
  readonly sqliteFile: string
  readonly every: number
  readonly intervalMs: number
}

export type AuditWorkerRequest =
  /** The events as JSON text: a string crosses postMessage as one copy, objects as a slow structured clone. */
  | { readonly id: number; readonly op: "append"; readonly events: string }
  | { readonly id: number; readonly op: "checkpointDue"; readonly olderThanMs: number }
  | { readonly id: number; readonly op: "retain"; readonly before: string }
  | { readonly id: number; readonly op: "close" }

export type AuditWorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: number }
  | { readonly id: number; readonly ok: false; readonly message: string }
  | { readonly ready: true }
  | { readonly fatal: string }
