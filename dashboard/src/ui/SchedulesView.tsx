import { useEffect, useState } from "preact/hooks"
import { deleteSchedule, getSchedules } from "../api.js"
import type { Schedule } from "../state/types.js"

/** Every schedule, soonest first, each with a delete button. Times are UTC, as the daemon keeps them. */
export const SchedulesView = () => {
  const [schedules, setSchedules] = useState<ReadonlyArray<Schedule> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState("")
  const load = async () => {
    try {
      setSchedules(await getSchedules())
      setError(undefined)
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    }
  }
  useEffect(() => void load(), [])
  const remove = async (id: string) => {
    setBusy(id)
    try {
      await deleteSchedule(id)
      await load()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setBusy("")
    }
  }
  return (
    <section class="schedules">
      <div class="row">
        <button type="button" class="secondary" onClick={() => void load()}>Refresh</button>
        <span class="count">
          {schedules === undefined ? "loading…" : `${schedules.length} schedule(s), times in UTC`}
        </span>
        {error === undefined ? null : <span class="result err">{error}</span>}
      </div>
      {schedules !== undefined && schedules.length === 0
        ? <p class="empty">No schedules. Agents make them with schedule_create; people with `repowire schedule add`.</p>
        : null}
      {(schedules ?? []).map((s) => (
        <div key={s.id} class="schedule" data-schedule={s.id}>
          <div class="ask-head">
            <span class="who">{s.owner_name} → {s.to_name}</span>
            <span class={`badge b-${s.kind}`}>{s.kind}</span>
            <code>{s.cron ?? `at ${s.at}`}</code>
            <span class="time">next {s.next_fire_at.replace("T", " ").replace(/\.\d+Z$/, "Z")}</span>
            <button type="button" class="secondary" disabled={busy === s.id} onClick={() => void remove(s.id)}>
              Delete
            </button>
          </div>
          <p class="ask-text">{s.text}</p>
          {s.last_error === null ? null : <p class="warn">last fire did not send: {s.last_error}</p>}
        </div>
      ))}
    </section>
  )
}
