import { Clock, Effect, Layer } from "effect"
import { MessageRouter } from "../services/MessageRouter.js"
import { makeAckAndWait } from "./router/AckAndWait.js"
import { makeBroadcast } from "./router/Broadcast.js"
import { makeReceipts } from "./router/Receipts.js"
import { makeRouterContext } from "./router/RouterContext.js"
import { makeSendNow } from "./router/SendNow.js"

/** The router's parts live in `router/`; this only assembles them. */
export const MessageRouterLive = Layer.scoped(
  MessageRouter,
  Effect.gen(function*() {
    const ctx = yield* makeRouterContext
    const { viaOf } = ctx
    const { askNow, notifyNow } = makeSendNow(ctx)
    const { ack, fail, waitForAck } = yield* makeAckAndWait(ctx)
    const broadcast = makeBroadcast(ctx)
    const { confirm, confirmNow, flush } = yield* makeReceipts(ctx)

    return MessageRouter.of({
      ask: (sender, request) =>
        Effect.flatMap(
          viaOf,
          (via) => Effect.flatMap(Clock.currentTimeMillis, (at) => askNow(sender, request, at, via))
        ),
      askNow,
      ack,
      notify: (sender, request) =>
        Effect.flatMap(
          viaOf,
          (via) => Effect.flatMap(Clock.currentTimeMillis, (at) => notifyNow(sender, request, at, via))
        ),
      notifyNow,
      broadcast,
      flush,
      confirm,
      confirmNow,
      fail,
      waitForAck
    })
  })
)
