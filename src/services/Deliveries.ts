import { Context, type Effect } from "effect"
import type { QueueFull } from "../protocol/Errors.js"
import type { Message } from "../protocol/Message.js"

/** The durable queue of messages, one row per recipient. */
export class Deliveries extends Context.Tag("repowire/Deliveries")<Deliveries, {
  /** Writes the message; fails (changing nothing) when its recipient's queue is full. */
  readonly enqueue: (message: Omit<Message, "state">) => Effect.Effect<void, QueueFull>
  /** `enqueue` as a synchronous step of a `Database.now` transaction, at time `now`. */
  readonly enqueueNow: (message: Omit<Message, "state">, now: number) => QueueFull | undefined
  /** Writes the messages whose recipient has room; returns those it had to skip. */
  readonly enqueueWhereRoom: (
    messages: ReadonlyArray<Omit<Message, "state">>
  ) => Effect.Effect<ReadonlyArray<Omit<Message, "state">>>
  /** Messages not yet confirmed, oldest first (expired ones are dropped on the way). */
  readonly pending: (peerId: string) => Effect.Effect<ReadonlyArray<Message>>
  readonly markDelivered: (messageId: string, peerId: string) => Effect.Effect<Message | undefined>
  /** `markDelivered` as a synchronous step. */
  readonly markDeliveredNow: (messageId: string, peerId: string) => Message | undefined
  /** A still-queued message can never reach its recipient: marked failed (a synchronous step); the message, if so. */
  readonly failNow: (messageId: string, peerId: string) => Message | undefined
  /** Pending messages, marked delivered: for peers without a live transport. */
  readonly drain: (peerId: string) => Effect.Effect<ReadonlyArray<Message>>
  readonly get: (messageId: string) => Effect.Effect<Message | undefined>
  /** `get` as a synchronous step. */
  readonly getNow: (messageId: string) => Message | undefined
}>() {}
