import { Context, type Effect } from "effect"
import type { AmbiguousPeer, BadRequest, Forbidden, PeerNotFound, ScheduleNotFound } from "../protocol/Errors.js"
import type { Peer } from "../protocol/Peer.js"
import type { CreateSchedule, Schedule } from "../protocol/Schedule.js"

/**
 * Messages sent later or on a cron, as their owner. Durable: a schedule outlives a daemon
 * restart, and a fire that fell due while the daemon was down happens once when it starts.
 * One timer is armed for the next due fire; nothing polls.
 */
export class Schedules extends Context.Tag("repowire/Schedules")<Schedules, {
  /** `owner` is the authenticated caller; `request.from_peer` must name it. */
  readonly create: (
    owner: Peer,
    request: CreateSchedule
  ) => Effect.Effect<Schedule, BadRequest | PeerNotFound | AmbiguousPeer | Forbidden>
  /** Every schedule (or only `owner`'s), soonest first. */
  readonly list: (filter: { readonly owner?: string | undefined }) => Effect.Effect<ReadonlyArray<Schedule>>
  /** Its owner or a human may delete a schedule. */
  readonly remove: (caller: Peer, id: string) => Effect.Effect<Schedule, ScheduleNotFound | Forbidden>
}>() {}
