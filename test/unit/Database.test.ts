import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Layer, Option, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { SqliteLive, SqliteMemory } from "../../src/layers/Sqlite.js"
import { Database } from "../../src/services/Database.js"

class Refused extends Data.TaggedError("Refused")<{}> {}

const Count = Schema.Struct({ n: Schema.Number })
const Id = Schema.Struct({ id: Schema.String })

const countMessages = Effect.flatMap(Database, (db) =>
  Effect.map(db.one(Count, "SELECT COUNT(*) AS n FROM messages"), (row) => Option.getOrThrow(row).n))

const insertMessage = (id: string) =>
  Effect.flatMap(Database, (db) =>
    db.run(
      `INSERT INTO messages (id, kind, from_peer, from_name, to_peer, to_name, circle, text, state, created_at, expires_at)
       VALUES (?, 'notify', 'a', 'a', 'b', 'b', 'c', 'hi', 'queued', 0, 0)`,
      [id]
    ))

describe("Database", () => {
  it.effect("commits a transaction that succeeds", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* db.transaction(Effect.zipRight(insertMessage("m1"), insertMessage("m2")))
      assert.strictEqual(yield* countMessages, 2)
    }).pipe(Effect.provide(SqliteMemory)))

  it.effect("rolls back every write of a transaction that fails, and keeps the typed error", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const exit = yield* Effect.exit(db.transaction(Effect.zipRight(insertMessage("m1"), Effect.fail(new Refused()))))
      assert.isTrue(Exit.isFailure(exit) && Cause.failureOption(exit.cause).pipe(Option.isSome))
      assert.strictEqual(yield* countMessages, 0)
    }).pipe(Effect.provide(SqliteMemory)))

  it.effect("rolls back a transaction that dies, and a defect in SQL does not poison the next one", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const duplicate = db.transaction(Effect.zipRight(insertMessage("m1"), insertMessage("m1")))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(duplicate)))
      assert.strictEqual(yield* countMessages, 0)
      yield* db.transaction(insertMessage("m2"))
      assert.strictEqual(yield* countMessages, 1)
    }).pipe(Effect.provide(SqliteMemory)))

  it.effect("refuses to wait inside a transaction, and rolls back", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const waits = Effect.zipRight(insertMessage("m1"), Effect.promise(() => Promise.resolve()))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(db.transaction(waits))))
      assert.strictEqual(yield* countMessages, 0)
    }).pipe(Effect.provide(SqliteMemory)))

  it.effect("nests: an inner failure rolls back only the inner part when the outer handles it", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* db.transaction(Effect.gen(function*() {
        yield* insertMessage("outer")
        yield* Effect.ignore(db.transaction(Effect.zipRight(insertMessage("inner"), Effect.fail(new Refused()))))
      }))
      const ids = yield* db.all(Id, "SELECT id FROM messages ORDER BY id")
      assert.deepStrictEqual(ids.map((r) => r.id), ["outer"])
    }).pipe(Effect.provide(SqliteMemory)))

  it.effect("treats a row that does not match its Schema as a defect", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* insertMessage("m1")
      const exit = yield* Effect.exit(db.all(Count, "SELECT id AS n FROM messages"))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }).pipe(Effect.provide(SqliteMemory)))

  it.live("keeps committed rows in the file across reopening, migrated once", () =>
    Effect.gen(function*() {
      const home = yield* Effect.acquireRelease(
        Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "repowire-db-"))),
        (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
      )
      const inHome = <A, E>(effect: Effect.Effect<A, E, Database>) =>
        Effect.scoped(Effect.provide(effect, SqliteLive.pipe(Layer.provide(ConfigMemory(home, {})))))
      yield* inHome(insertMessage("kept"))
      assert.strictEqual(yield* inHome(countMessages), 1)
    }).pipe(Effect.scoped))
})
