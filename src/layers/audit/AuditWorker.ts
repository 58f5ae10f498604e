/**
 * The audit worker's entry (a worker_threads thread; built as dist/auditWorker.mjs): canonicalises,
 * hashes, signs and appends the relay's audit batches on its own connection to the store, so
 * none of that runs on the relay's event loop. One request at a time, answered in order.
 */
import { Effect, ManagedRuntime, Redacted } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import { relayStoreLayer } from "../RelayStore.js"
import { loadSigner } from "./AuditKey.js"
import { makeAuditStore } from "./AuditStore.js"
import type { AuditWorkerInit, AuditWorkerReply, AuditWorkerRequest } from "./AuditWriter.js"

const port = parentPort!
const init = workerData as AuditWorkerInit
const post = (reply: AuditWorkerReply) => port.postMessage(reply)
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const runtime = ManagedRuntime.make(relayStoreLayer({
  databaseUrl: init.databaseUrl === undefined ? undefined : Redacted.make(init.databaseUrl),
  sqliteFile: Effect.succeed(init.sqliteFile)
}))

try {
  const store = await runtime.runPromise(
    makeAuditStore(loadSigner(init.keyDir), { every: init.every, intervalMs: init.intervalMs })
  )
  const run = (
    request: Exclude<AuditWorkerRequest, { op: "close" }>
  ): Effect.Effect<number, { readonly message: string }> => {
    switch (request.op) {
      case "append":
        return Effect.as(store.append(request.events), request.events.length)
      case "checkpointDue":
        return store.checkpointDue(request.olderThanMs)
      case "retain":
        return store.retain(request.before)
    }
  }
  port.on("message", (request: AuditWorkerRequest) => {
    const done = request.op === "close" ? runtime.dispose().then(() => 0) : runtime.runPromise(run(request))
    done.then(
      (value) => post({ id: request.id, ok: true, value }),
      (error) => post({ id: request.id, ok: false, message: messageOf(error) })
    )
  })
  post({ ready: true })
} catch (error) {
  post({ fatal: messageOf(error) })
}
