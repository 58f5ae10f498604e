import { Context, type Effect, type Scope, type Stream } from "effect"
import type { MeshEvent, NewMeshEvent } from "../protocol/MeshEvent.js"

export interface EventQuery {
  readonly since?: number | undefined
  readonly limit?: number | undefined
  readonly peer?: string | undefined
  readonly circle?: string | undefined
}

/** Every observable mesh event, with monotonically increasing ids. */
export class EventLog extends Context.Tag("repowire/EventLog")<EventLog, {
  /** Writes the event (inside the caller's transaction, if any); `publish` makes it live. */
  readonly append: (event: NewMeshEvent) => Effect.Effect<MeshEvent>
  /** `append` as a synchronous step of a `Database.now` transaction, at time `at`. */
  readonly appendNow: (event: NewMeshEvent, at: number) => MeshEvent
  readonly publish: (events: ReadonlyArray<MeshEvent>) => Effect.Effect<void>
  /** `publish` as a synchronous step, once the events' transaction has committed. */
  readonly publishNow: (events: ReadonlyArray<MeshEvent>) => void
  /** append + publish, for events outside a transaction. */
  readonly emit: (event: NewMeshEvent) => Effect.Effect<MeshEvent>
  /** `emit` as a synchronous step, at time `at`. */
  readonly emitNow: (event: NewMeshEvent, at: number) => MeshEvent
  readonly list: (query: EventQuery) => Effect.Effect<ReadonlyArray<MeshEvent>>
  /** Events after `since`: the backlog, then live ones, without gaps or duplicates. */
  readonly follow: (since: number) => Effect.Effect<Stream.Stream<MeshEvent>, never, Scope.Scope>
}>() {}
