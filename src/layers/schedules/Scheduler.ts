import { Cause, Clock, Duration, Effect, Either, Queue } from "effect"
import { BadRequest, Forbidden, ScheduleNotFound } from "../../protocol/Errors.js"
import type { Peer } from "../../protocol/Peer.js"
import type { CreateSchedule } from "../../protocol/Schedule.js"
import { Ids } from "../../services/Ids.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Schedules } from "../../services/Schedules.js"
import { type ScheduleRow, type ScheduleStore, toSchedule } from "./ScheduleStore.js"
import { afterFire, checkCron, nextCronFire, parseAt } from "./When.js"

/** The longest a JS timer can wait; a later fire is re-armed when this one runs out. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** A fire that failed inside (a defect, not a refused send) is tried again this much later. */
const RETRY_AFTER_DEFECT_MS = 60_000

/**
 * The Schedules service over a store: one fiber sleeps until the soonest schedule is due
 * (woken early when a schedule is added or removed), fires every due one, and sleeps again.
 */
export const makeSchedules = (store: ScheduleStore) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    const ids = yield* Ids
    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)

    /** Sends one due schedule as its owner and books the fire, in one transaction. */
    const fireNow = (row: ScheduleRow, now: number): string | null =>
      store.transaction(() => {
        const sent = Either.gen(function*() {
          const owner = yield* registry.resolveNow(row.owner_peer, undefined, undefined, now)
          const request = { from_peer: owner.peer_id, to_peer: row.to_peer, text: row.text }
          return row.kind === "ask"
            ? yield* router.askNow(owner, request, now)
            : yield* router.notifyNow(owner, request, now)
        })
        const error = Either.isLeft(sent) ? sent.left.message : null
        const next = afterFire(row.cron, now)
        if (next === undefined) store.remove(row.id)
        else store.fired(row.id, now, next, error)
        return error
      })

    const fire = (row: ScheduleRow, now: number) =>
      Effect.sync(() => fireNow(row, now)).pipe(
        Effect.flatMap((error) =>
          error === null
            ? Effect.logDebug(`schedule ${row.id} fired: ${row.kind} to ${row.to_name}`)
            : Effect.logWarning(`schedule ${row.id} fired but did not send: ${error}`)
        ),
        Effect.catchAllDefect((defect) =>
          Effect.logError(`schedule ${row.id} failed: ${Cause.pretty(Cause.die(defect))}`).pipe(
            Effect.zipRight(Effect.sync(() => store.fired(row.id, now, now + RETRY_AFTER_DEFECT_MS, "internal error")))
          )
        )
      )

    const timer = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.forEach(store.due(now), (row) => fire(row, now), { discard: true })
      const next = store.nextDue()
      const woken = Queue.take(wake)
      if (next === undefined) return yield* woken
      const wait = Math.min(MAX_TIMER_MS, Math.max(0, next - now))
      yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), woken)
    })
    yield* Effect.forkScoped(Effect.forever(timer))

    const rearm = Queue.offer(wake, undefined)

    const when = (request: CreateSchedule, now: number) =>
      Either.gen(function*() {
        if ((request.at === undefined) === (request.cron === undefined)) {
          return yield* Either.left("give exactly one of `at` (a time) or `cron` (an expression)")
        }
        if (request.at !== undefined) {
          const at = yield* parseAt(request.at, now)
          if (at < now) return yield* Either.left(`\`${request.at}\` (${new Date(at).toISOString()}) is in the past`)
          return { at, cron: null, next: at }
        }
        const cron = yield* checkCron(request.cron!)
        const next = nextCronFire(cron, now)
        if (next === undefined) return yield* Either.left(`cron expression \`${cron}\` never fires again`)
        return { at: null, cron, next }
      }).pipe(Either.mapLeft((message) => new BadRequest({ message })))

    const create = Effect.fn("Schedules.create")(function*(owner: Peer, request: CreateSchedule) {
      if (request.from_peer !== owner.peer_id && request.from_peer !== owner.display_name) {
        return yield* new Forbidden({
          message:
            `from_peer \`${request.from_peer}\` is not the caller (${owner.display_name}): a peer schedules only as itself`
        })
      }
      const now = yield* Clock.currentTimeMillis
      const { at, cron, next } = yield* when(request, now)
      const target = yield* registry.resolve(request.to_peer, owner, request.circle)
      const row: ScheduleRow = {
        id: ids.next("sch"),
        owner_peer: owner.peer_id,
        owner_name: owner.display_name,
        to_peer: target.peer_id,
        to_name: target.display_name,
        circle: request.circle ?? null,
        kind: request.kind ?? "notify",
        text: request.text,
        at,
        cron,
        next_fire_at: next,
        last_fired_at: null,
        last_error: null,
        created_at: now
      }
      store.insert(row)
      yield* rearm
      return toSchedule(row)
    })

    const list = (filter: { readonly owner?: string | undefined }) =>
      Effect.sync(() =>
        store.all().filter((row) => filter.owner === undefined || row.owner_peer === filter.owner).map(toSchedule)
      )

    const remove = Effect.fn("Schedules.remove")(function*(caller: Peer, id: string) {
      const row = store.get(id)
      if (row === undefined) return yield* new ScheduleNotFound({ message: `no schedule ${id}` })
      if (row.owner_peer !== caller.peer_id && caller.role !== "human") {
        return yield* new Forbidden({
          message: `${id} belongs to ${row.owner_name}; only it (or a human) can delete it`
        })
      }
      store.remove(id)
      yield* rearm
      return toSchedule(row)
    })

    return Schedules.of({ create, list, remove })
  })
