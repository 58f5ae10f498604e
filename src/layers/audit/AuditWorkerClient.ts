import { Effect } from "effect"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { StampedEvent } from "./AuditStore.js"
import {
  type AuditWorkerInit,
  type AuditWorkerReply,
  type AuditWorkerRequest,
  AuditWriteFailed,
  type AuditWriter
} from "./AuditWriter.js"

type Op = AuditWorkerRequest extends infer R ? R extends { readonly id: number } ? Omit<R, "id"> : never : never

/**
 * From the sources (tsx, vitest) the worker loads AuditWorker.ts through tsx's API: a worker does
 * not inherit the parent's `--import tsx` hooks on Node 20. From the bundle it is the plain
 * dist/auditWorker.mjs that scripts/build.mjs writes beside this chunk.
 */
const spawnWorker = (init: AuditWorkerInit): Worker => {
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./auditWorker.mjs", import.meta.url), { workerData: init })
  }
  // tsx's API as ESM: `require.resolve` would give its CommonJS build, which cannot load its ESM half.
  const tsx =
    new URL("./dist/esm/api/index.mjs", pathToFileURL(createRequire(import.meta.url).resolve("tsx/package.json")))
      .href
  const entry = new URL("./AuditWorker.ts", import.meta.url).href
  const code = `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${
    JSON.stringify(import.meta.url)
  }))`
  return new Worker(code, { eval: true, workerData: init })
}

/**
 * The audit worker as an AuditWriter: each call is one message, answered in order. A worker that
 * dies fails what it had in hand (AuditLive keeps those events queued) and is started again on
 * the next call. Closing the scope asks it to close its store, then ends it.
 */
export const auditWorkerClient = (init: AuditWorkerInit) =>
  Effect.gen(function*() {
    let worker: { readonly thread: Worker; readonly ready: Promise<void> } | undefined
    const pending = new Map<number, (reply: AuditWorkerReply) => void>()
    let nextId = 0

    const failAll = (message: string) => {
      for (const [id, answer] of pending) answer({ id, ok: false, message })
      pending.clear()
    }

    const start = () => {
      const thread = spawnWorker(init)
      const ready = new Promise<void>((resolve, reject) => {
        thread.on("message", (reply: AuditWorkerReply) => {
          if ("ready" in reply) return resolve()
          if ("fatal" in reply) return reject(new Error(reply.fatal))
          const answer = pending.get(reply.id)
          pending.delete(reply.id)
          answer?.(reply)
        })
        const died = (error: unknown) => {
          if (worker?.thread === thread) worker = undefined
          const message = `audit worker stopped: ${error instanceof Error ? error.message : String(error)}`
          reject(new Error(message))
          failAll(message)
        }
        thread.once("error", died)
        thread.once("exit", (code) => died(`exit ${code}`))
      })
      // A worker that cannot start is reported by the call that waits on it.
      ready.catch(() => undefined)
      return { thread, ready }
    }

    const send = (current: { readonly thread: Worker; readonly ready: Promise<void> }, op: Op) =>
      Effect.async<number, AuditWriteFailed>((resume) => {
        current.ready.then(() => {
          const id = nextId++
          pending.set(id, (reply) =>
            resume(
              "ok" in reply && reply.ok
                ? Effect.succeed(reply.value)
                : Effect.fail(new AuditWriteFailed({ message: "message" in reply ? reply.message : "no answer" }))
            ))
          current.thread.postMessage({ ...op, id })
        }, (error: Error) => resume(Effect.fail(new AuditWriteFailed({ message: error.message }))))
      })
    const call = (op: Op) => Effect.suspend(() => send(worker ??= start(), op))

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const current = worker
        if (current === undefined) return Effect.void
        worker = undefined
        return send(current, { op: "close" }).pipe(
          Effect.ignore,
          Effect.zipRight(Effect.promise(() => current.thread.terminate()))
        )
      })
    )

    // Fails at once when the worker cannot open the store, as an in-thread writer would.
    yield* Effect.tryPromise({
      try: () => (worker ??= start()).ready,
      catch: (error) => new AuditWriteFailed({ message: error instanceof Error ? error.message : String(error) })
    })

    return {
      append: (events: ReadonlyArray<StampedEvent>) =>
        Effect.asVoid(call({ op: "append", events: JSON.stringify(events) })),
      checkpointDue: (olderThanMs: number) => call({ op: "checkpointDue", olderThanMs }),
      retain: (before: string) => call({ op: "retain", before })
    } satisfies AuditWriter
  })
