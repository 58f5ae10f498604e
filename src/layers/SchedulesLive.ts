import { Effect, Layer, Option } from "effect"
import { Database } from "../services/Database.js"
import { Schedules } from "../services/Schedules.js"
import { makeSchedules } from "./schedules/Scheduler.js"
import { ScheduleRow, type ScheduleStore } from "./schedules/ScheduleStore.js"

const INSERT = `INSERT INTO schedules (id, owner_peer, owner_name, to_peer, to_name, circle, kind, text, at, cron,
  next_fire_at, last_fired_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** Schedules in the daemon's SQLite: they survive a restart. */
export const SchedulesLive = Layer.scoped(
  Schedules,
  Effect.gen(function*() {
    const { now: db } = yield* Database
    const store: ScheduleStore = {
      all: () => db.all(ScheduleRow, "SELECT * FROM schedules ORDER BY next_fire_at, id"),
      get: (id) => Option.getOrUndefined(db.one(ScheduleRow, "SELECT * FROM schedules WHERE id = ?", [id])),
      due: (now) =>
        db.all(ScheduleRow, "SELECT * FROM schedules WHERE next_fire_at <= ? ORDER BY next_fire_at, id", [now]),
      nextDue: () => {
        const row = db.one(ScheduleRow, "SELECT * FROM schedules ORDER BY next_fire_at LIMIT 1")
        return Option.isSome(row) ? row.value.next_fire_at : undefined
      },
      insert: (r) =>
        void db.run(INSERT, [
          r.id,
          r.owner_peer,
          r.owner_name,
          r.to_peer,
          r.to_name,
          r.circle,
          r.kind,
          r.text,
          r.at,
          r.cron,
          r.next_fire_at,
          r.last_fired_at,
          r.last_error,
          r.created_at
        ]),
      fired: (id, at, next, error) =>
        void db.run("UPDATE schedules SET last_fired_at = ?, next_fire_at = ?, last_error = ? WHERE id = ?", [
          at,
          next,
          error,
          id
        ]),
      remove: (id) => void db.run("DELETE FROM schedules WHERE id = ?", [id]),
      transaction: db.transaction
    }
    return yield* makeSchedules(store)
  })
)
