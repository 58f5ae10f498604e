import { Layer } from "effect"
import { Schedules } from "../services/Schedules.js"
import { makeSchedules } from "./schedules/Scheduler.js"
import type { ScheduleRow, ScheduleStore } from "./schedules/ScheduleStore.js"

/** Schedules kept in memory (tests, programs without a disk); the timer works the same. */
export const memoryScheduleStore = (): ScheduleStore => {
  const rows = new Map<string, ScheduleRow>()
  const sorted = () => [...rows.values()].sort((a, b) => a.next_fire_at - b.next_fire_at)
  return {
    all: sorted,
    get: (id) => rows.get(id),
    due: (now) => sorted().filter((r) => r.next_fire_at <= now),
    nextDue: () => sorted()[0]?.next_fire_at,
    insert: (row) => void rows.set(row.id, row),
    fired: (id, at, next, error) => {
      const row = rows.get(id)
      if (row !== undefined) rows.set(id, { ...row, last_fired_at: at, next_fire_at: next, last_error: error })
    },
    remove: (id) => void rows.delete(id),
    transaction: (body) => body()
  }
}

export const SchedulesMemory = Layer.scoped(Schedules, makeSchedules(memoryScheduleStore()))
