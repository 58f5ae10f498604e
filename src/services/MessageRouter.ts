import { Context, type Effect, type Either } from "effect"
import type {
  AlreadyAcked,
  AmbiguousPeer,
  AskNotFound,
  AttachmentNotFound,
  Forbidden,
  PeerNotFound,
  PolicyDenied,
  QueueFull
} from "../protocol/Errors.js"
import type {
  AckAccepted,
  AckRequest,
  Ask,
  AskAccepted,
  AskRequest,
  BroadcastAccepted,
  BroadcastRequest,
  NotifyAccepted,
  NotifyRequest
} from "../protocol/Message.js"
import type { Peer } from "../protocol/Peer.js"
import type { Via } from "./Policy.js"

type SendError = PeerNotFound | AmbiguousPeer | Forbidden | QueueFull | AttachmentNotFound | PolicyDenied

/**
 * Routes messages between peers. `sender` is the authenticated caller; a request naming a
 * different `from_peer` is refused. Every message is durable before the call returns.
 */
export class MessageRouter extends Context.Tag("repowire/MessageRouter")<MessageRouter, {
  readonly ask: (sender: Peer, request: AskRequest) => Effect.Effect<AskAccepted, SendError | AskNotFound>
  /**
   * `ask` as a synchronous step, at time `at`: the daemon's hot path runs it without a fiber.
   * `via` is how the request came in (the effectful `ask` reads it from `Tunnelled`).
   */
  readonly askNow: (
    sender: Peer,
    request: AskRequest,
    at: number,
    via?: Via
  ) => Either.Either<AskAccepted, SendError | AskNotFound>
  readonly ack: (
    sender: Peer,
    request: AckRequest
  ) => Effect.Effect<
    AckAccepted,
    AskNotFound | AlreadyAcked | Forbidden | QueueFull | AttachmentNotFound | PolicyDenied
  >
  readonly notify: (sender: Peer, request: NotifyRequest) => Effect.Effect<NotifyAccepted, SendError>
  /**
   * `notify` as a synchronous step, at time `at`. As `broadcast`: one recipient's copy of a
   * broadcast made on a linked machine (this daemon's rules for broadcasts decide).
   */
  readonly notifyNow: (
    sender: Peer,
    request: NotifyRequest,
    at: number,
    via?: Via,
    kind?: "notify" | "broadcast"
  ) => Either.Either<NotifyAccepted, SendError>
  readonly broadcast: (
    sender: Peer,
    request: BroadcastRequest
  ) => Effect.Effect<BroadcastAccepted, PeerNotFound | AmbiguousPeer | Forbidden | AttachmentNotFound | PolicyDenied>
  /** Pushes a peer's pending messages to its (new) live transport. */
  readonly flush: (peerId: string) => Effect.Effect<void>
  /** A transport confirmed a message. */
  readonly confirm: (
    peerId: string,
    messageId: string,
    outcome: "injected" | "received" | "failed",
    detail: string | undefined
  ) => Effect.Effect<void>
  /**
   * `confirm` as a synchronous step that does not wait: recorded with the next batch of
   * receipts; a batch that fails is logged.
   */
  readonly confirmNow: (peerId: string, messageId: string, outcome: "received", detail: string) => void
  /**
   * A still-queued message was refused for good where it was going (another machine's rules,
   * an unknown peer, a file over its limits): it fails with `reason` and is never retried.
   */
  readonly fail: (peerId: string, messageId: string, reason: string) => Effect.Effect<void>
  /** Waits until the ask is acked (or failed) or the timeout passes; returns it either way. */
  readonly waitForAck: (correlationId: string, timeoutMs: number) => Effect.Effect<Ask, AskNotFound>
}>() {}
