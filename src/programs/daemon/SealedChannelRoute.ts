import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { errorResponse, Forbidden } from "../../protocol/Errors.js"
import { SEALED_CHANNEL_PATH } from "../../protocol/TunnelRoutes.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { SealedChannels } from "../../services/SealedChannels.js"

/**
 * `GET /sealed/channel`: the browser's one WebSocket through the relay. Only through the
 * relay: a local browser talks to the daemon directly.
 */
const channel = Effect.gen(function*() {
  if (!(yield* Tunnelled)) {
    return errorResponse(new Forbidden({ message: "the sealed channel is for browsers that come through the relay" }))
  }
  const channels = yield* SealedChannels
  const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
  yield* channels.serve(socket)
  return HttpServerResponse.empty()
})

export const SealedChannelRoute = HttpLayerRouter.add("GET", SEALED_CHANNEL_PATH, channel)
