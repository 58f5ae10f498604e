import { Effect, Layer, Schedule } from "effect"
import type { AuditEvent } from "../../protocol/Audit.js"
import { Audit } from "../../services/Audit.js"
import { appendOnlySigner, loadSigner } from "./AuditKey.js"
import { type CheckpointPolicy, makeAuditStore, type StampedEvent } from "./AuditStore.js"
import { auditWorkerClient } from "./AuditWorkerClient.js"
import type { AuditWriter } from "./AuditWriter.js"

export interface AuditOptions extends CheckpointPolicy {
  /** Queued events are written at most this long after they happen (the most a crash can lose). */
  readonly flushMs: number
  /** At most this many events per transaction; a longer queue is written in several. */
  readonly maxBatch: number
  /**
   * At most this many events wait in memory (while the store is slow or away). Past it new events
   * are dropped and counted, and one `audit_dropped` record on the global chain says how many and
   * when, as soon as the queue has room: the chain shows the gap instead of the relay running out
   * of memory.
   */
  readonly maxQueued: number
  /** Records older than this are dropped behind a signed cut; undefined keeps everything. */
  readonly retainMs?: number | undefined
  /**
   * Where the store is, for the audit worker's own connection: given, batches are canonicalised,
   * hashed and written on a worker thread, off the relay's event loop. Without it (the CLI, a
   * store in memory) they are written on this thread.
   */
  readonly worker?: { readonly databaseUrl: string | undefined; readonly sqliteFile: string } | undefined
}

export const defaultAuditOptions: AuditOptions = {
  every: 256,
  intervalMs: 60_000,
  flushMs: 100,
  maxBatch: 512,
  maxQueued: 100_000
}

/** Retention looks for old records at start and then this often. */
const RETAIN_EVERY_MS = 3600_000

/**
 * The audit log in the relay's store (the SqlClient beside it: SQLite or PostgreSQL), signed
 * with `<keyDir>/audit-ed25519.pem` (made on first use). Without a `keyDir` it only appends and
 * never reads, makes or signs with a key: the CLI's key commands, which on an operator's machine
 * beside a PostgreSQL store have no relay key (the relay signs their records on its next tick). A call site only pushes the event into an array; one
 * writer fiber, every `flushMs`, hands what is queued to the writer (the audit worker, or this
 * thread), which stamps, canonicalises, hashes and appends it in a transaction per batch and
 * signs each chain that grew once its checkpoint is due. Closing the layer writes what is
 * queued and checkpoints every chain.
 */
export const AuditLive = (keyDir: string | undefined, options: Partial<AuditOptions> = {}) =>
  Layer.scoped(
    Audit,
    Effect.gen(function*() {
      const o = { ...defaultAuditOptions, ...options, signs: keyDir !== undefined }
      const signer = keyDir === undefined ? appendOnlySigner : loadSigner(keyDir)
      const policy = o.signs ? o : { ...o, every: Number.POSITIVE_INFINITY }
      const store = yield* makeAuditStore(signer, policy)
      const writer: AuditWriter = o.worker === undefined
        ? store
        : yield* auditWorkerClient({ keyDir, ...o.worker, every: policy.every, intervalMs: policy.intervalMs })
      const lock = yield* Effect.makeSemaphore(1)

      let queue: Array<StampedEvent> = []
      // Events refused while the queue was full, told to the global chain as soon as there is room.
      let dropped: { count: number; from: number; until: number } | undefined

      const admitDropped = () => {
        if (dropped === undefined || queue.length >= o.maxQueued) return
        const { count, from, until } = dropped
        dropped = undefined
        queue.push({
          kind: "audit_dropped",
          user_id: null,
          detail: { count, from: new Date(from).toISOString(), until: new Date(until).toISOString() },
          ms: until
        })
      }

      // The request path: one small object into an array, nothing else (unless the queue is full).
      const record = (event: AuditEvent) => {
        const ms = Date.now()
        if (queue.length >= o.maxQueued) {
          if (dropped === undefined) dropped = { count: 1, from: ms, until: ms }
          else (dropped.count++, dropped.until = ms)
          return
        }
        if (dropped !== undefined) admitDropped()
        queue.push({ kind: event.kind, user_id: event.user_id, detail: event.detail, ms })
      }

      /** Writes what is queued, batch by batch; a batch the store refused goes back to the queue's head. */
      const write = lock.withPermits(1)(Effect.gen(function*() {
        while (admitDropped(), queue.length > 0) {
          const batch = queue.slice(0, o.maxBatch)
          queue = queue.slice(batch.length)
          const failed = yield* writer.append(batch).pipe(
            Effect.as(false),
            Effect.catchAll((e) =>
              Effect.sync(() => {
                queue = batch.concat(queue)
              }).pipe(
                Effect.zipRight(Effect.logWarning(`audit write failed, will retry: ${e.message}`)),
                Effect.as(true)
              )
            )
          )
          if (failed) return
        }
      }))

      const checkpoint = (olderThanMs: number) => lock.withPermits(1)(writer.checkpointDue(olderThanMs))

      const retain = o.retainMs === undefined || !o.signs
        ? Effect.void
        : lock.withPermits(1)(writer.retain(new Date(Date.now() - o.retainMs).toISOString()))
      const logged = <E extends { message: string }>(what: string, effect: Effect.Effect<unknown, E>) =>
        effect.pipe(Effect.catchAll((e) => Effect.logWarning(`audit ${what} failed: ${e.message}`)))

      yield* logged("retention", retain)
      yield* write.pipe(Effect.repeat(Schedule.spaced(o.flushMs)), Effect.forkScoped)
      // The minute checkpoint is the protocol's timer. The tick asks the store, not this process:
      // records another writer appended (a replica, the CLI) get signed too; an idle store has none.
      const tick = logged("checkpoint", checkpoint(o.intervalMs))
      if (o.signs) {
        yield* tick.pipe(Effect.repeat(Schedule.spaced(Math.max(10, Math.floor(o.intervalMs / 4)))), Effect.forkScoped)
      }
      yield* logged("retention", retain).pipe(
        Effect.repeat(Schedule.spaced(RETAIN_EVERY_MS)),
        Effect.delay(RETAIN_EVERY_MS),
        Effect.forkScoped
      )

      yield* Effect.addFinalizer(() =>
        Effect.zipRight(write, o.signs ? logged("checkpoint", checkpoint(0)) : Effect.void).pipe(Effect.ignoreLogged)
      )

      return Audit.of({
        enabled: true,
        record,
        flush: write,
        page: (userId, since, limit) => Effect.zipRight(write, store.page(userId, since, limit)).pipe(Effect.orDie),
        key: { algorithm: "Ed25519", public_key: signer.publicKey }
      })
    })
  )
