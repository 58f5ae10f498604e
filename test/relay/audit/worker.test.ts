import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import type * as WorkerThreads from "node:worker_threads"
import { afterEach } from "vitest"
import { AuditLive } from "../../../src/layers/audit/AuditLive.js"
import { readChains } from "../../../src/layers/audit/AuditStore.js"
import { verifyChain } from "../../../src/layers/audit/Verify.js"
import type { AuditRecord } from "../../../src/protocol/Audit.js"
import { Audit } from "../../../src/services/Audit.js"
import { storeAt, storeEngines } from "../../support/StoreEngines.js"
import { tempDir } from "../harness.js"

/**
 * The relay's audit worker dying (a crash, an out-of-memory thread): the next write starts a new
 * one, the batch the dead one had in hand is written by it, and every chain stays whole.
 */

const engines = storeEngines("rw-audit-worker-")

// The audit worker threads AuditLive starts, seen through node:worker_threads itself: its
// Worker class is swapped for one that keeps each instance (syncBuiltinESMExports carries the
// swap to the `import { Worker }` of AuditWorkerClient). `dieOnNextPost` makes the next worker
// that is handed a message end before it can read it: it dies with that batch in hand.
const threads = createRequire(import.meta.url)("node:worker_threads") as typeof WorkerThreads
const RealWorker = threads.Worker
const started: Array<WorkerThreads.Worker> = []
let dieOnNextPost = false
class WatchedWorker extends RealWorker {
  constructor(...args: ConstructorParameters<typeof RealWorker>) {
    super(...args)
    started.push(this)
  }
  override postMessage(...args: Parameters<WorkerThreads.Worker["postMessage"]>) {
    const message = args[0] as { op?: string }
    if (dieOnNextPost && message.op === "append") {
      dieOnNextPost = false
      void this.terminate()
    }
    super.postMessage(...args)
  }
}
const watch = () => {
  started.length = 0
  threads.Worker = WatchedWorker
  syncBuiltinESMExports()
}
afterEach(() => {
  threads.Worker = RealWorker
  syncBuiltinESMExports()
  dieOnNextPost = false
})

const record = (from: number, to: number) =>
  Effect.map(Audit, (audit) => {
    for (let n = from; n < to; n++) {
      audit.record({ kind: "request", user_id: n % 2 === 0 ? "alice" : "bob", detail: { n } })
    }
  })

describe.each(engines)("the audit worker on $name", (engine) => {
  it.live("a worker that died is started again on the next write; nothing accepted is lost, every chain verifies", () =>
    Effect.gen(function*() {
      watch()
      const at = yield* engine.fresh
      const dir = tempDir("rw-audit-key-")
      const worker = {
        databaseUrl: at.databaseUrl === undefined ? undefined : Redacted.value(at.databaseUrl),
        sqliteFile: at.file
      }
      const publicKey = yield* Effect.gen(function*() {
        const audit = yield* Audit
        yield* record(0, 10)
        yield* audit.flush
        assert.strictEqual(started.length, 1)

        // Killed while idle: the next batch starts a second worker.
        const exit = yield* Effect.promise(() => started[0]!.terminate())
        assert.strictEqual(exit, 1)
        yield* record(10, 20)
        yield* audit.flush
        assert.strictEqual(started.length, 2)

        // Killed with a batch in hand (before it could read it): the batch fails, stays queued
        // at the head, and the next tick's worker writes it, in order.
        dieOnNextPost = true
        yield* record(20, 200)
        yield* audit.flush
        yield* Effect.sleep("300 millis")
        assert.isFalse(dieOnNextPost)
        assert.strictEqual(started.length, 3)
        yield* record(200, 210)
        return audit.key.public_key
      }).pipe(
        Effect.provide(AuditLive(dir, { flushMs: 10, maxBatch: 50, worker }).pipe(Layer.provide(storeAt(at)))),
        Effect.scoped
      )

      // Read after AuditLive closed (it wrote what was queued and checkpointed every chain).
      const chains = yield* readChains().pipe(Effect.provide(storeAt(at)), Effect.scoped)
      const ns = (c: { records: ReadonlyArray<AuditRecord> }) => c.records.map((r) => r.detail.n)
      const upTo = (n: number, keep: (i: number) => boolean) => Array.from({ length: n }, (_, i) => i).filter(keep)
      assert.deepStrictEqual(chains.map((c) => c.chain), ["global", "user:alice", "user:bob"])
      assert.deepStrictEqual(ns(chains[0]!), upTo(210, () => true))
      assert.deepStrictEqual(ns(chains[1]!), upTo(210, (i) => i % 2 === 0))
      assert.deepStrictEqual(ns(chains[2]!), upTo(210, (i) => i % 2 === 1))
      for (const c of chains) {
        const result = verifyChain({ ...c, publicKey })
        assert.isTrue(Either.isRight(result), `${c.chain}: ${JSON.stringify(Either.getLeft(result))}`)
        assert.strictEqual(c.checkpoints.at(-1)?.seq, c.head?.seq, `${c.chain} checkpointed on close`)
      }
    }).pipe(Effect.scoped))
})

/** Each thread of this process (its task id) and its nice value, from /proc (field 19 of a task's stat). */
const niceOfThreads = () =>
  new Map(
    fs.readdirSync("/proc/self/task").map((tid) => {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      return [tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])] as const
    })
  )

// Linux only: there a nice value belongs to one thread, and the worker lowers only its own.
describe.runIf(process.platform === "linux")("the audit worker's priority", () => {
  it.live("runs at nice 19 while the relay's own thread keeps its priority", () =>
    Effect.gen(function*() {
      watch()
      const at = yield* engines[0]!.fresh
      const self = fs.readlinkSync("/proc/thread-self").split("/").pop()!
      const before = niceOfThreads()
      const after = yield* Effect.gen(function*() {
        yield* record(0, 3)
        yield* (yield* Audit).flush
        return niceOfThreads()
      }).pipe(
        Effect.provide(
          AuditLive(tempDir("rw-audit-key-"), {
            flushMs: 10,
            worker: { databaseUrl: undefined, sqliteFile: at.file }
          }).pipe(Layer.provide(storeAt(at)))
        ),
        Effect.scoped
      )
      assert.strictEqual(started.length, 1)
      const lowered = [...after].filter(([tid, nice]) => nice === 19 && before.get(tid) !== 19)
      assert.strictEqual(lowered.length, 1, `one new thread at nice 19: ${JSON.stringify([...after])}`)
      assert.strictEqual(after.get(self), before.get(self))
      assert.notStrictEqual(before.get(self), 19)
    }).pipe(Effect.scoped))
})
