/**
 * The audit worker's entry (a worker_threads thread; built as dist/auditWorker.mjs): canonicalises,
 * hashes, signs and appends the relay's audit batches on its own connection to the store, so
 * none of that runs on the relay's event loop. One request at a time, answered in order.
 */
import { Effect, ManagedRuntime, Redacted } from "effect"
import * as os from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import { relayStoreLayer } from "../RelayStore.js"
import { appendOnlySigner, loadSigner } from "./AuditKey.js"
import { makeAuditStore, type StampedEvent } from "./AuditStore.js"
import type { AuditWorkerInit, AuditWorkerReply, AuditWorkerRequest } from "./AuditWriter.js"
import { sqliteAppender } from "./SqliteAppend.js"

/**
 * The worker yields the CPU to the relay's requests: at the lowest priority (nice 19) waking it
 * with a batch no longer preempts the relay's thread, which in the audit bench had stalled about
 * half a millisecond at every hand-over. On Linux only, where a nice value is the thread's own;
 * elsewhere it would lower the whole relay. The cost: on a relay whose every CPU is busy the log
 * writes behind, its queue bounded by `maxQueued` (AuditLive).
 */
if (process.platform === "linux") {
  try {
    os.setPriority(19)
  } catch {
    // A sandbox that refuses setpriority leaves the worker at the relay's priority: slower, still whole.
  }
}

const port = parentPort!
const init = workerData as AuditWorkerInit
const post = (reply: AuditWorkerReply) => port.postMessage(reply)
const messageOf = (error: unknown) =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

const runtime = ManagedRuntime.make(relayStoreLayer({
  databaseUrl: init.databaseUrl === undefined ? undefined : Redacted.make(init.databaseUrl),
  sqliteFile: Effect.succeed(init.sqliteFile)
}))

try {
  const signer = init.keyDir === undefined ? appendOnlySigner : loadSigner(init.keyDir)
  const store = await runtime.runPromise(makeAuditStore(signer, { every: init.every, intervalMs: init.intervalMs }))
  // On SQLite the hot path, append, skips the SQL client: prepared statements on a connection of its own.
  const sqlite = init.databaseUrl === undefined ? sqliteAppender(init.sqliteFile, signer, init.every) : undefined
  const append = (events: ReadonlyArray<StampedEvent>): Effect.Effect<void, unknown> =>
    sqlite === undefined ? store.append(events) : Effect.try({ try: () => sqlite.append(events), catch: messageOf })
  const run = (request: Exclude<AuditWorkerRequest, { op: "close" }>): Effect.Effect<number, unknown> => {
    switch (request.op) {
      case "append": {
        const events = JSON.parse(request.events) as ReadonlyArray<StampedEvent>
        return Effect.as(append(events), events.length)
      }
      case "checkpointDue":
        return store.checkpointDue(request.olderThanMs)
      case "retain":
        return store.retain(request.before)
    }
  }
  port.on("message", (request: AuditWorkerRequest) => {
    const done = request.op === "close"
      ? runtime.dispose().then(() => (sqlite?.close(), 0))
      : runtime.runPromise(Effect.either(run(request))).then((result) => {
        if (result._tag === "Left") throw result.left
        return result.right
      })
    done.then(
      (value) => post({ id: request.id, ok: true, value }),
      (error) => post({ id: request.id, ok: false, message: messageOf(error) })
    )
  })
  post({ ready: true })
} catch (error) {
  post({ fatal: messageOf(error) })
}
