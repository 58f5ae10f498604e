import { Deferred, Effect, Queue } from "effect"
import { frameOf } from "../Frames.js"
import type { RouterContext } from "./RouterContext.js"

interface Receipt {
  readonly peerId: string
  readonly messageId: string
  readonly outcome: "injected" | "received" | "failed"
  readonly detail: string | undefined
  readonly done: Deferred.Deferred<void>
}

const MAX_RECEIPTS_PER_BATCH = 1000

/** Resumes once the event loop has run the I/O callbacks already due: a burst of frames lands in one batch. */
const afterPendingIo = Effect.async<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

/** Delivery's far end: pending messages pushed to a (new) transport, and its receipts recorded. */
export const makeReceipts = Effect.fnUntraced(function*(ctx: RouterContext) {
  const { askDeliveredNow, commit, deliveries, events, transports } = ctx

  const flush = Effect.fnUntraced(function*(peerId: string) {
    const pending = yield* deliveries.pending(peerId)
    for (const message of pending) {
      if (!(yield* transports.deliver(peerId, frameOf(message)))) return
    }
  })

  /** Records one receipt inside the batch's transaction; returns the event it makes, if any. */
  const record = Effect.fnUntraced(function*(receipt: Receipt) {
    const { detail, messageId, outcome, peerId } = receipt
    const message = outcome === "failed"
      ? yield* deliveries.get(messageId)
      : yield* deliveries.markDelivered(messageId, peerId)
    if (message === undefined || message.to_peer !== peerId) return []
    if (outcome !== "failed") askDeliveredNow(message)
    // A broadcast's per-recipient receipts would flood the log; its event lists the recipients.
    if (message.kind === "broadcast" && outcome !== "failed") return []
    return [
      yield* events.append({
        type: "delivery",
        circle: message.circle,
        message_id: message.id,
        correlation_id: message.correlation_id,
        to_peer: message.to_peer,
        to_name: message.to_name,
        state: outcome === "failed" ? "failed" : "delivered",
        detail: detail ?? (outcome === "injected" ? "typed into the session" : null)
      })
    ]
  })

  /**
   * Receipts arrive in bursts (a broadcast's recipients all confirm at once): they are
   * written in one transaction per burst, and each confirm returns once its batch commits.
   */
  const receipts = yield* Effect.acquireRelease(Queue.unbounded<Receipt>(), Queue.shutdown)
  yield* Effect.gen(function*() {
    const first = yield* Queue.take(receipts)
    yield* afterPendingIo
    const batch = [first, ...yield* Queue.takeUpTo(receipts, MAX_RECEIPTS_PER_BATCH - 1)]
    const exit = yield* Effect.exit(commit(
      Effect.map(Effect.forEach(batch, record), (made) => [undefined, made.flat()] as const)
    ))
    yield* Effect.forEach(batch, (receipt) => Deferred.done(receipt.done, exit), { discard: true })
  }).pipe(Effect.forever, Effect.forkScoped)

  const confirm = (
    peerId: string,
    messageId: string,
    outcome: "injected" | "received" | "failed",
    detail: string | undefined
  ) =>
    Effect.flatMap(
      Deferred.make<void>(),
      (done) =>
        Queue.offer(receipts, { peerId, messageId, outcome, detail, done }).pipe(
          Effect.zipRight(Deferred.await(done))
        )
    )

  return { flush, confirm }
})
