import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Layer, Option, Schema } from "effect"
import { statSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import {
  COMMITS_PER_CHECKPOINT,
  QUIET_CHECKPOINT_COMMITS,
  QUIET_MS,
  SqliteLive,
  SqliteMemory
} from "../../src/layers/Sqlite.js"
import { Database } from "../../src/services/Database.js"

class Refused extends Data.TaggedError("Refused")<{}> {}

const Count = Schema.Struct({ n: Schema.Number })
const Id = Schema.Struct({ id: Schema.String })

const countMessages = Effect.flatMap(
  Database,
  (db) => Effect.map(db.one(Count, "SELECT COUNT(*) AS n FROM messages"), (row) => Option.getOrThrow(row).n)
)

const insertMessage = (id: string, text = "hi") =>
  Effect.flatMap(Database, (db) =>
    db.run(
      `INSERT INTO messages (id, kind, from_peer, from_name, to_peer, to_name, circle, text, state, created_at, expires_at)
       VALUES (?, 'notify', 'a', 'a', 'b', 'b', 'c', ?, 'queued', 0, 0)`,
      [id, text]
    ))

/** A temp home with state.db in it, removed with the scope. */
const tempHome = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "repowire-db-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const inHome = (home: string) => <A, E>(effect: Effect.Effect<A, E, Database>) =>
  Effect.scoped(Effect.provide(effect, SqliteLive.pipe(Layer.provide(ConfigMemory(home, {})))))

const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
const fileSize = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0
const bigText = "x".repeat(2000)

/** The in-memory database is shared by the block: each test starts from no messages. */
const emptied = Effect.flatMap(Database, (db) => db.run("DELETE FROM messages", []))

describe("Database", () => {
  layer(SqliteMemory)("in memory", (it) => {
    it.effect("commits a transaction that succeeds", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        yield* db.transaction(Effect.zipRight(insertMessage("m1"), insertMessage("m2")))
        assert.strictEqual(yield* countMessages, 2)
      }))

    it.effect("rolls back every write of a transaction that fails, and keeps the typed error", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        const exit = yield* Effect.exit(
          db.transaction(Effect.zipRight(insertMessage("m1"), Effect.fail(new Refused())))
        )
        assert.isTrue(Exit.isFailure(exit) && Cause.failureOption(exit.cause).pipe(Option.isSome))
        assert.strictEqual(yield* countMessages, 0)
      }))

    it.effect("rolls back a transaction that dies, and a defect in SQL does not poison the next one", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        const duplicate = db.transaction(Effect.zipRight(insertMessage("m1"), insertMessage("m1")))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(duplicate)))
        assert.strictEqual(yield* countMessages, 0)
        yield* db.transaction(insertMessage("m2"))
        assert.strictEqual(yield* countMessages, 1)
      }))

    it.effect("refuses to wait inside a transaction, and rolls back", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        const waits = Effect.zipRight(insertMessage("m1"), Effect.promise(() => Promise.resolve()))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(db.transaction(waits))))
        assert.strictEqual(yield* countMessages, 0)
      }))

    it.effect("nests: an inner failure rolls back only the inner part when the outer handles it", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        yield* db.transaction(Effect.gen(function*() {
          yield* insertMessage("outer")
          yield* Effect.ignore(db.transaction(Effect.zipRight(insertMessage("inner"), Effect.fail(new Refused()))))
        }))
        const ids = yield* db.all(Id, "SELECT id FROM messages ORDER BY id")
        assert.deepStrictEqual(ids.map((r) => r.id), ["outer"])
      }))

    it.effect("treats a row that does not match its Schema as a defect", () =>
      Effect.gen(function*() {
        const db = yield* Database
        yield* emptied
        yield* insertMessage("m1")
        const exit = yield* Effect.exit(db.all(Count, "SELECT id AS n FROM messages"))
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      }))
  })

  it.live("keeps committed rows in the file across reopening, migrated once", () =>
    Effect.gen(function*() {
      const home = yield* tempHome
      yield* inHome(home)(insertMessage("kept"))
      assert.strictEqual(yield* inHome(home)(countMessages), 1)
    }).pipe(Effect.scoped))

  it.live("checkpoints after a commit has returned, on the event loop's next turn, not inside it", () =>
    Effect.gen(function*() {
      const home = yield* tempHome
      const stateDb = path.join(home, "state.db")
      yield* inHome(home)(
        Effect.gen(function*() {
          const db = yield* Database
          const before = fileSize(stateDb)
          for (let i = 0; i < COMMITS_PER_CHECKPOINT; i++) yield* db.transaction(insertMessage(`m${i}`, bigText))
          // The commits are in the WAL; the database file has not been written yet.
          assert.strictEqual(fileSize(stateDb), before)
          yield* nextTurn
          assert.isAbove(fileSize(stateDb), before + COMMITS_PER_CHECKPOINT * bigText.length)
          assert.strictEqual(yield* countMessages, COMMITS_PER_CHECKPOINT)
        }).pipe(Effect.withMaxOpsBeforeYield(Number.MAX_SAFE_INTEGER))
      ) // the test decides when the loop turns
    }).pipe(Effect.scoped))

  it.live("checkpoints a few commits once they stop for a moment, and not while they keep coming", () =>
    Effect.gen(function*() {
      const home = yield* tempHome
      const stateDb = path.join(home, "state.db")
      const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))
      yield* inHome(home)(Effect.gen(function*() {
        const db = yield* Database
        const before = fileSize(stateDb)
        for (let i = 0; i < QUIET_CHECKPOINT_COMMITS; i++) yield* db.transaction(insertMessage(`m${i}`, bigText))
        // A burst: the event loop turns between commits, but each comes well within the quiet time.
        for (let i = 0; i < 10; i++) {
          yield* nextTurn
          yield* db.transaction(insertMessage(`n${i}`, bigText))
        }
        assert.strictEqual(fileSize(stateDb), before)
        // Then quiet: the checkpoint comes QUIET_MS later on an idle loop; a loaded machine may
        // delay that timer, so wait for it (a bounded while), rather than a fixed time.
        const grown = before + (QUIET_CHECKPOINT_COMMITS + 10) * bigText.length
        for (let waited = 0; fileSize(stateDb) <= grown && waited < 2_000; waited += QUIET_MS) yield* sleep(QUIET_MS)
        assert.isAbove(fileSize(stateDb), grown)
        assert.strictEqual(yield* countMessages, QUIET_CHECKPOINT_COMMITS + 10)
      }))
    }).pipe(Effect.scoped))

  it.live("keeps the WAL small under a steady stream of commits", () =>
    Effect.gen(function*() {
      const home = yield* tempHome
      yield* inHome(home)(Effect.gen(function*() {
        const db = yield* Database
        for (let i = 0; i < 10 * COMMITS_PER_CHECKPOINT; i++) {
          yield* db.transaction(insertMessage(`m${i}`, bigText))
          if (i % 10 === 9) yield* nextTurn
        }
        // Without its checkpoints the WAL would hold all ~20 MB of these commits.
        assert.isBelow(fileSize(path.join(home, "state.db-wal")), 2 * COMMITS_PER_CHECKPOINT * 4 * 4096)
        assert.strictEqual(yield* countMessages, 10 * COMMITS_PER_CHECKPOINT)
      }))
    }).pipe(Effect.scoped))
})
