import { Schema } from "effect"
import { MessageText, PeerRef } from "./Message.js"
import { Circle } from "./Peer.js"
import { strict } from "./Strict.js"

export const ScheduleKind = Schema.Literal("notify", "ask")
export type ScheduleKind = typeof ScheduleKind.Type

/**
 * A message sent later (`at`, once) or again and again (`cron`), as its owner. Times are UTC
 * ISO 8601. `next_fire_at` is null only for a one-shot schedule whose fire is over.
 */
export const Schedule = Schema.Struct({
  id: Schema.String,
  owner_peer: Schema.String,
  owner_name: Schema.String,
  to_peer: Schema.String,
  to_name: Schema.String,
  circle: Schema.NullOr(Schema.String),
  kind: ScheduleKind,
  text: Schema.String,
  at: Schema.NullOr(Schema.String),
  cron: Schema.NullOr(Schema.String),
  next_fire_at: Schema.String,
  last_fired_at: Schema.NullOr(Schema.String),
  /** Why the last fire did not send (its target or owner gone, a full queue), else null. */
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.String
})
export type Schedule = typeof Schedule.Type

export const CreateSchedule = Schema.Struct({
  from_peer: PeerRef,
  to_peer: PeerRef,
  text: MessageText,
  /** ISO 8601 (UTC when it names no offset) or relative: 30s, 10m, 2h, 1d. */
  at: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))),
  /** Five fields (minute hour day-of-month month day-of-week, UTC) or @hourly, @daily, @weekly, … */
  cron: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))),
  kind: Schema.optional(ScheduleKind),
  circle: Schema.optional(Circle)
}).pipe(strict)
export type CreateSchedule = typeof CreateSchedule.Type

export const ScheduleList = Schema.Struct({ schedules: Schema.Array(Schedule) })
