import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { errorResponse, NotFound } from "../../protocol/Errors.js"
import { Mesh } from "../../services/Mesh.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { TunnelClient } from "../../services/TunnelClient.js"

/**
 * `POST /relay/reconnect`: local-only. Re-reads the relay section of config.yaml and redials
 * (after `repowire relay rotate-key` or `setup --relay`). Never reachable through the tunnel:
 * it is off the allow-list, and refused here too when the request is tunnelled.
 */
export const relayReconnectHandler = Effect.gen(function*() {
  if (yield* Tunnelled) {
    return errorResponse(new NotFound({ message: "not reachable through the relay" }))
  }
  const status = yield* Effect.flatMap(TunnelClient, (c) => c.reconnect)
  yield* Effect.flatMap(Mesh, (m) => m.reconnect)
  return yield* HttpServerResponse.json({ relay: status })
}).pipe(Effect.orDie, Effect.withSpan("RelayRoutes.reconnect"))

export const RelayRoutes = HttpLayerRouter.add("POST", "/relay/reconnect", relayReconnectHandler)
