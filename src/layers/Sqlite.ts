import { NodeContext } from "@effect/platform-node"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import BetterSqlite from "better-sqlite3"
import { Cause, Context, Data, Effect, Exit, Layer, Option, Runtime, Schema } from "effect"
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import { Config } from "../services/Config.js"
import { Database, type SqlValue } from "../services/Database.js"
import { moveAsideForeignState } from "./ForeignState.js"
import { migrations } from "./Migrations.js"

/** The state file is held by another daemon (it keeps an exclusive lock while it runs). */
export class DatabaseInUse extends Data.TaggedError("DatabaseInUse")<{ readonly message: string }> {}

const isLocked = (error: unknown): boolean =>
  /database is locked|SQLITE_BUSY/i.test(String(error)) ||
  (typeof error === "object" && error !== null && "cause" in error && isLocked(error.cause))

/**
 * Applies the migrations with @effect/sql's SQLite migrator on its own short-lived connection.
 * An in-memory database lives only as long as its connection, so it is handed over as bytes.
 */
const migrate = (filename: string) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(
      SqliteMigrator.layer({ loader: migrations, table: "repowire_migrations" }).pipe(
        Layer.provideMerge(SqliteClient.layer({ filename })),
        Layer.provide(NodeContext.layer)
      )
    )
    return filename === ":memory:"
      ? Option.some(yield* Context.get(context, SqliteClient.SqliteClient).export)
      : Option.none()
  })).pipe(
    // The lock shows up as a failure or as a throw inside the client, depending on the step.
    Effect.catchAllCause((cause) =>
      isLocked(Cause.squash(cause))
        ? Effect.fail(
          new DatabaseInUse({
            message: `${filename} is in use by another repowire daemon; stop it first (repowire daemon stop)`
          })
        )
        : Effect.die(Cause.squash(cause))
    )
  )

/** Statements are keyed by their text; the daemon's texts are fixed, so this stays small. */
const MAX_STATEMENTS = 500

const RollBack = Symbol("RollBack")

/** Write commits between two checkpoints: about as many WAL pages as SQLite's own default. */
export const COMMITS_PER_CHECKPOINT = 100
/** Fewer commits are checkpointed once the process has been quiet this long (no commit, an idle loop)... */
export const QUIET_MS = 5
/**
 * ...if there are at least this many: each checkpoint costs two fsyncs, and an fsync can stall
 * the event loop for as long as the disk is busy with others' writes, so they stay rare.
 */
export const QUIET_CHECKPOINT_COMMITS = 50
/** The event loop counts as quiet when it was busy for less than this share of QUIET_MS. */
const QUIET_UTILIZATION = 0.25
/** SQLite's own checkpoint stays as a backstop, for a few very large transactions. */
const BACKSTOP_PAGES = 10_000

/**
 * Checkpoints on their own turn of the event loop, after the commit that called for one has
 * answered. SQLite's automatic checkpoint runs inside a commit, where its two fsyncs and its
 * page copies (about 5 ms here) would be added to that request's latency. Better still, it
 * runs when no request is being served: once commits stop for QUIET_MS and the event loop was
 * mostly idle meanwhile (a pause in this database's commits is not a quiet process: other
 * requests, or another daemon in a test's process, may be running), so a burst of messages is
 * not held up by one; only a steady stream with no pause waits for one on the next turn after
 * COMMITS_PER_CHECKPOINT commits.
 */
const checkpointAfterCommits = (db: BetterSqlite.Database, onError: (error: unknown) => void) => {
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`)
  let commits = 0
  let due: NodeJS.Immediate | undefined
  let quiet: NodeJS.Timeout | undefined
  let since = performance.eventLoopUtilization()
  const cancel = () => {
    if (due !== undefined) clearImmediate(due)
    if (quiet !== undefined) clearTimeout(quiet)
    due = undefined
    quiet = undefined
  }
  const checkpoint = () => {
    cancel()
    commits = 0
    try {
      db.pragma("wal_checkpoint(PASSIVE)")
    } catch (error) {
      onError(error)
    }
  }
  const whenQuiet = () => {
    const busy = performance.eventLoopUtilization(since).utilization
    if (busy < QUIET_UTILIZATION) return checkpoint()
    since = performance.eventLoopUtilization()
    quiet!.refresh()
  }
  return {
    committed: () => {
      commits++
      if (due !== undefined) return
      if (commits >= COMMITS_PER_CHECKPOINT) {
        due = setImmediate(checkpoint)
        return
      }
      if (commits < QUIET_CHECKPOINT_COMMITS) return
      since = performance.eventLoopUtilization()
      if (quiet !== undefined) {
        quiet.refresh()
      } else {
        quiet = setTimeout(whenQuiet, QUIET_MS)
        quiet.unref()
      }
    },
    cancel
  }
}

/**
 * The state file, its WAL and its shared-memory index readable by their owner only. SQLite
 * creates the database 0644 (less the umask) and gives the WAL and index the database's
 * mode: made 0600 before SQLite opens it, they all are; a file from an older daemon is fixed.
 */
const makePrivate = (filename: string) =>
  Effect.sync(() => {
    fs.closeSync(fs.openSync(filename, "a", 0o600))
    for (const file of [filename, `${filename}-wal`, `${filename}-shm`, `${filename}-journal`]) {
      try {
        if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
      }
    }
  })

const open = (filename: string) =>
  Effect.gen(function*() {
    const moved = filename === ":memory:" ? undefined : moveAsideForeignState(filename)
    if (moved !== undefined) {
      yield* Effect.logWarning(
        `${filename} is upstream repowire's (another schema): moved aside to ${moved}; starting fresh`
      )
    }
    if (filename !== ":memory:") yield* makePrivate(filename)
    const image = yield* migrate(filename)
    const db = yield* Effect.acquireRelease(
      Effect.sync(() => Option.isSome(image) ? new BetterSqlite(Buffer.from(image.value)) : new BetterSqlite(filename)),
      (db) => Effect.sync(() => db.close())
    )
    if (Option.isNone(image)) {
      // The daemon is the file's only user: holding its lock for the daemon's lifetime saves
      // the lock calls of every transaction (WAL index in memory), and keeps a second daemon out.
      db.pragma("locking_mode = EXCLUSIVE")
      db.pragma("journal_mode = WAL")
    }
    // NORMAL in WAL mode: a committed transaction survives the process being killed.
    db.pragma("synchronous = NORMAL")
    db.pragma("busy_timeout = 5000")
    const runtime = yield* Effect.runtime<never>()
    const checkpoints = Option.isNone(image)
      ? yield* Effect.acquireRelease(
        Effect.sync(() =>
          checkpointAfterCommits(db, (error) =>
            Runtime.runFork(runtime)(Effect.logWarning("SQLite checkpoint failed; the next one retries", error)))
        ),
        (checkpoints) =>
          Effect.sync(checkpoints.cancel)
      )
      : undefined
    const committed = () => {
      if (checkpoints !== undefined && !db.inTransaction) {
        checkpoints.committed()
      }
    }

    const statements = new Map<string, BetterSqlite.Statement>()
    const prepare = (sql: string) => {
      let statement = statements.get(sql)
      if (statement === undefined) {
        if (statements.size >= MAX_STATEMENTS) {
          statements.clear()
        }
        statement = db.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    }

    const decoders = new WeakMap<object, (row: unknown) => unknown>()
    const decoderOf = <A, I>(schema: Schema.Schema<A, I>) => {
      let decode = decoders.get(schema)
      if (decode === undefined) {
        decode = Schema.decodeUnknownSync(schema)
        decoders.set(schema, decode)
      }
      return decode as (row: unknown) => A
    }

    // One transaction function for all: better-sqlite3 nests a call inside another as a savepoint.
    const atomically = db.transaction(<A>(body: () => A): A =>
      body()
    )
    const now = {
      transaction: <A>(body: () => A): A => {
        const result = atomically(body) as A
        committed()
        return result
      },
      all: <A, I>(row: Schema.Schema<A, I>, sql: string, params: ReadonlyArray<SqlValue> = []) =>
        prepare(sql).all(...params).map(decoderOf(row)),
      one: <A, I>(row: Schema.Schema<A, I>, sql: string, params: ReadonlyArray<SqlValue> = []) => {
        const found = prepare(sql).get(...params)
        return found === undefined ? Option.none<A>() : Option.some(decoderOf(row)(found))
      },
      run: (sql: string, params: ReadonlyArray<SqlValue> = []) => {
        const result = prepare(sql).run(...params)
        committed()
        return result
      }
    }

    const all = <A, I>(row: Schema.Schema<A, I>, sql: string, params?: ReadonlyArray<SqlValue>) =>
      Effect.sync(() => now.all(row, sql, params))
    const one = <A, I>(row: Schema.Schema<A, I>, sql: string, params?: ReadonlyArray<SqlValue>) =>
      Effect.sync(() => now.one(row, sql, params))
    const run = (sql: string, params?: ReadonlyArray<SqlValue>) => Effect.sync(() => now.run(sql, params))

    const transaction = <A, E, R>(work: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.runtime<R>(), (runtime) =>
        Effect.suspend(() => {
          let exit: Exit.Exit<A, E> | undefined
          try {
            atomically(() => {
              exit = Runtime.runSyncExit(runtime)(work)
              if (Exit.isFailure(exit)) throw RollBack
            })
          } catch (error) {
            if (error !== RollBack) throw error
          }
          if (Exit.isSuccess(exit!)) committed()
          return exit!
        }))

    return Database.of({ all, one, run, transaction, now })
  })

/** The daemon's state: $REPOWIRE_HOME/state.db, WAL, migrated on open. */
export const SqliteLive = Layer.scoped(
  Database,
  Effect.flatMap(Config, ({ paths }) => open(paths.stateDb))
)

/** The same store in memory, for unit tests. */
export const SqliteMemory = Layer.scoped(Database, open(":memory:"))
