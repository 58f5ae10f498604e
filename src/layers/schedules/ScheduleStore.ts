import { Schema } from "effect"
import type { Schedule } from "../../protocol/Schedule.js"

/** A `schedules` row: times are epoch milliseconds (UTC), as SQLite keeps them. */
export const ScheduleRow = Schema.Struct({
  id: Schema.String,
  owner_peer: Schema.String,
  owner_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.NullOr(Schema.String),
  kind: Schema.Literal("notify", "ask"),
  text: Schema.String,
  at: Schema.NullOr(Schema.Number),
  cron: Schema.NullOr(Schema.String),
  next_fire_at: Schema.Number,
  last_fired_at: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.Number
})
export type ScheduleRow = typeof ScheduleRow.Type

const iso = (ms: number) => new Date(ms).toISOString()

export const toSchedule = (row: ScheduleRow): Schedule => ({
  ...row,
  at: row.at === null ? null : iso(row.at),
  next_fire_at: iso(row.next_fire_at),
  last_fired_at: row.last_fired_at === null ? null : iso(row.last_fired_at),
  created_at: iso(row.created_at)
})

/** Where schedules are kept: synchronous, so a fire and its bookkeeping commit together. */
export interface ScheduleStore {
  readonly all: () => ReadonlyArray<ScheduleRow>
  readonly get: (id: string) => ScheduleRow | undefined
  /** Schedules due at `now`, soonest first. */
  readonly due: (now: number) => ReadonlyArray<ScheduleRow>
  /** When the soonest schedule falls due, if any. */
  readonly nextDue: () => number | undefined
  readonly insert: (row: ScheduleRow) => void
  readonly fired: (id: string, at: number, next: number, error: string | null) => void
  readonly remove: (id: string) => void
  /** Runs `body` atomically where the store can. */
  readonly transaction: <A>(body: () => A) => A
}
