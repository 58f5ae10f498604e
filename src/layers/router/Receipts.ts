import { Effect, Exit, Runtime } from "effect"
import type { MeshEvent } from "../../protocol/MeshEvent.js"
import { frameOf } from "../Frames.js"
import type { RouterContext } from "./RouterContext.js"

interface Receipt {
  readonly peerId: string
  readonly messageId: string
  readonly outcome: "injected" | "received" | "failed"
  readonly detail: string | undefined
  readonly done: (exit: Exit.Exit<void>) => void
}

const MAX_RECEIPTS_PER_BATCH = 1000

/** Delivery's far end: pending messages pushed to a (new) transport, and its receipts recorded. */
export const makeReceipts = Effect.fnUntraced(function*(ctx: RouterContext) {
  const { askDeliveredNow, db, deliveries, events, transports } = ctx
  const clock = yield* Effect.clock

  const flush = Effect.fnUntraced(function*(peerId: string) {
    const pending = yield* deliveries.pending(peerId)
    for (const message of pending) {
      if (!(yield* transports.deliver(peerId, frameOf(message)))) return
    }
  })

  /** Records one receipt inside the batch's transaction; returns the event it makes, if any. */
  const record = ({ detail, messageId, outcome, peerId }: Receipt, at: number): ReadonlyArray<MeshEvent> => {
    const message = outcome === "failed"
      ? deliveries.getNow(messageId)
      : deliveries.markDeliveredNow(messageId, peerId)
    if (message === undefined || message.to_peer !== peerId) return []
    if (outcome !== "failed") askDeliveredNow(message)
    // A broadcast's per-recipient receipts would flood the log; its event lists the recipients.
    if (message.kind === "broadcast" && outcome !== "failed") return []
    return [events.appendNow({
      type: "delivery",
      circle: message.circle,
      message_id: message.id,
      correlation_id: message.correlation_id,
      to_peer: message.to_peer,
      to_name: message.to_name,
      state: outcome === "failed" ? "failed" : "delivered",
      detail: detail ?? (outcome === "injected" ? "typed into the session" : null)
    }, at)]
  }

  /**
   * Receipts arrive in bursts (a broadcast's recipients all confirm at once): they are
   * written in one transaction per burst, on the turn of the event loop after the I/O
   * callbacks already due, and each confirm returns once its batch commits. Plain
   * synchronous steps: a receipt is on every message's path, and a queue and a fiber cost
   * about as much as its writes.
   */
  let waiting: Array<Receipt> = []
  let due: NodeJS.Immediate | undefined
  const commitBatch = () => {
    if (due !== undefined) clearImmediate(due)
    due = undefined
    const batch = waiting.length > MAX_RECEIPTS_PER_BATCH ? waiting.splice(0, MAX_RECEIPTS_PER_BATCH) : waiting
    if (batch === waiting) waiting = []
    if (waiting.length > 0) due ??= setImmediate(commitBatch)
    let exit: Exit.Exit<void> = Exit.void
    try {
      const at = clock.unsafeCurrentTimeMillis()
      events.publishNow(db.now.transaction(() => batch.flatMap((receipt) => record(receipt, at))))
    } catch (defect) {
      exit = Exit.die(defect)
    }
    for (const receipt of batch) receipt.done(exit)
  }
  // Receipts taken before the router stops are still written (the database closes after it).
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      while (waiting.length > 0) commitBatch()
      if (due !== undefined) clearImmediate(due)
    })
  )

  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  const logFailed = (exit: Exit.Exit<void>) => {
    if (Exit.isFailure(exit)) runFork(Effect.logWarning("receipts not recorded", exit.cause))
  }
  const enqueue = (receipt: Receipt) => {
    waiting.push(receipt)
    due ??= setImmediate(commitBatch)
  }
  const confirmNow = (peerId: string, messageId: string, outcome: "received", detail: string) =>
    enqueue({ peerId, messageId, outcome, detail, done: logFailed })

  const confirm = (
    peerId: string,
    messageId: string,
    outcome: "injected" | "received" | "failed",
    detail: string | undefined
  ) => Effect.async<void>((done) => enqueue({ peerId, messageId, outcome, detail, done }))

  return { flush, confirm, confirmNow }
})
