import { Context, type Effect, type Either } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import type { AlreadyAcked, AskNotFound } from "../protocol/Errors.js"
import type { Ask } from "../protocol/Message.js"

export interface AskQuery {
  readonly peer?: string | undefined
  readonly direction?: "inbound" | "outbound" | undefined
  readonly open?: boolean | undefined
  readonly limit?: number | undefined
}

/** Tracked questions and their answers. */
export class Asks extends Context.Tag("repowire/Asks")<Asks, {
  /** Tracks a new ask: a synchronous step of the `Database.now` transaction that stores its message. */
  readonly createNow: (
    ask: Omit<Ask, "state" | "reply" | "reply_attachments" | "acked_at" | "failure"> & {
      readonly message_id: string
    }
  ) => void
  readonly get: (correlationId: string) => Effect.Effect<Ask, AskNotFound>
  /** `get` as a synchronous step. */
  readonly getNow: (correlationId: string) => Either.Either<Ask, AskNotFound>
  /** The ask's message reached its target (looked up by the ask's own key): a synchronous step. */
  readonly markDeliveredNow: (correlationId: string) => void
  /** The ask can never reach its target (it was still open): a synchronous step; true if it failed now. */
  readonly failNow: (correlationId: string, reason: string) => boolean
  /** Closes the ask; returns it with the id of the message that carried it. */
  readonly ack: (
    correlationId: string,
    reply: string | null,
    attachments: ReadonlyArray<AttachmentRef>
  ) => Effect.Effect<{ readonly ask: Ask; readonly messageId: string }, AskNotFound | AlreadyAcked>
  readonly list: (query: AskQuery) => Effect.Effect<ReadonlyArray<Ask>>
}>() {}
