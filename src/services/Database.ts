import { Context, type Effect, type Option, type Schema } from "effect"

export type SqlValue = string | number | bigint | null

export interface RunResult {
  readonly changes: number
  readonly lastInsertRowid: number | bigint
}

/** The statements of a connection, run synchronously: for code that is synchronous itself. */
export interface SyncStatements {
  readonly all: <A, I>(row: Schema.Schema<A, I>, sql: string, params?: ReadonlyArray<SqlValue>) => ReadonlyArray<A>
  readonly one: <A, I>(row: Schema.Schema<A, I>, sql: string, params?: ReadonlyArray<SqlValue>) => Option.Option<A>
  readonly run: (sql: string, params?: ReadonlyArray<SqlValue>) => RunResult
  /** Runs `body` atomically: committed if it returns, rolled back if it throws. Nests. */
  readonly transaction: <A>(body: () => A) => A
}

/**
 * The daemon's SQLite database, one connection, statements prepared once and reused. Every
 * call is synchronous underneath, so a transaction can never interleave with other work.
 * Rows are decoded by the given Schema; SQL errors and undecodable rows are defects.
 */
export class Database extends Context.Tag("repowire/Database")<Database, {
  readonly all: <A, I>(
    row: Schema.Schema<A, I>,
    sql: string,
    params?: ReadonlyArray<SqlValue>
  ) => Effect.Effect<ReadonlyArray<A>>
  readonly one: <A, I>(
    row: Schema.Schema<A, I>,
    sql: string,
    params?: ReadonlyArray<SqlValue>
  ) => Effect.Effect<Option.Option<A>>
  readonly run: (sql: string, params?: ReadonlyArray<SqlValue>) => Effect.Effect<RunResult>
  /**
   * Runs `work` atomically: committed if it succeeds, rolled back if it fails. `work` must
   * be synchronous (database calls and pure code); waiting on anything inside is a defect.
   */
  readonly transaction: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * The same statements without an effect around each: a request's hot path does its reads
   * and writes in one synchronous step. A throw is a defect, as in the effectful calls.
   */
  readonly now: SyncStatements
}>() {}
