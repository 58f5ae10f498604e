import { Effect, Layer, Runtime } from "effect"
import type { AuditEvent } from "../../protocol/Audit.js"
import { Audit } from "../../services/Audit.js"
import { loadSigner } from "./AuditKey.js"
import { AuditStore, type CheckpointPolicy, openAuditDb, type StampedEvent } from "./AuditStore.js"

export interface AuditOptions extends CheckpointPolicy {
  /** Queued events are written at most this long after they happen (the most a crash can lose). */
  readonly flushMs: number
  /** A queue this long is written at once, without waiting for `flushMs`. */
  readonly maxBatch: number
  /** Records older than this are dropped behind a signed cut; undefined keeps everything. */
  readonly retainMs?: number | undefined
}

export const defaultAuditOptions: AuditOptions = { every: 256, intervalMs: 60_000, flushMs: 100, maxBatch: 512 }

/** Retention looks for old records at start and then this often (riding the checkpoint tick). */
const RETAIN_EVERY_MS = 3600_000

/**
 * The audit log in `<dataDir>/audit.db`, signed with `<dataDir>/audit-ed25519.pem`. Call
 * sites only queue; one timer writes the queue in a transaction, and the checkpoint tick signs
 * each chain that grew. Closing the layer writes what is queued and checkpoints every chain.
 */
export const AuditLive = (dataDir: string, options: Partial<AuditOptions> = {}) =>
  Layer.scoped(
    Audit,
    Effect.gen(function*() {
      const o = { ...defaultAuditOptions, ...options }
      const db = yield* Effect.acquireRelease(
        Effect.sync(() => openAuditDb(dataDir)),
        (db) => Effect.sync(() => db.close())
      )
      const signer = loadSigner(dataDir)
      const runtime = yield* Effect.runtime<never>()
      const store = new AuditStore(db, signer, o)

      let queue: Array<StampedEvent> = []
      let timer: ReturnType<typeof setTimeout> | undefined
      let grew = false

      const write = () => {
        clearTimeout(timer)
        timer = undefined
        if (queue.length === 0) return
        const batch = queue
        queue = []
        try {
          store.append(batch)
          grew = true
        } catch (e) {
          // The disk said no: keep the batch for the next write rather than lose it.
          queue = batch.concat(queue)
          Runtime.runFork(runtime)(Effect.logWarning(`audit write failed, will retry: ${(e as Error).message}`))
          timer = setTimeout(write, o.flushMs)
        }
      }

      const record = (event: AuditEvent) => {
        queue.push({ ...event, at: new Date().toISOString() })
        if (queue.length >= o.maxBatch) setImmediate(write)
        else if (timer === undefined) timer = setTimeout(write, o.flushMs)
      }

      const retain = () => {
        if (o.retainMs !== undefined) store.retain(new Date(Date.now() - o.retainMs).toISOString())
      }
      retain()
      let retainedAt = Date.now()

      // The minute checkpoint is the protocol's timer; an idle relay's tick finds nothing to sign.
      const tick = setInterval(() => {
        write()
        if (grew) {
          store.checkpointDue(o.intervalMs)
          grew = store.unsigned() > 0
        }
        if (Date.now() - retainedAt >= RETAIN_EVERY_MS) {
          retainedAt = Date.now()
          retain()
        }
      }, Math.max(10, Math.floor(o.intervalMs / 4)))
      tick.unref()

      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          clearInterval(tick)
          write()
          store.checkpointDue(0)
        })
      )

      return Audit.of({
        enabled: true,
        record,
        flush: Effect.sync(write),
        page: (userId, since, limit) =>
          Effect.sync(() => {
            write()
            return store.page(userId, since, limit)
          }),
        key: { algorithm: "Ed25519", public_key: signer.publicKey }
      })
    })
  )
