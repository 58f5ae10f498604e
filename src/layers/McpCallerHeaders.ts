import { Effect, Layer } from "effect"
import { PEER_TOKEN_HEADER } from "../protocol/Peer.js"
import { DaemonClient } from "../services/DaemonClient.js"
import { CallerError, McpCaller } from "../services/McpCaller.js"

export const PEER_ID_HEADER = "x-repowire-peer-id"

/**
 * The caller of a /mcp request: the registered peer named by X-Repowire-Peer-Id, proven by its
 * X-Repowire-Peer-Token (the daemon refuses a token that is not that peer's on every send).
 */
export const McpCallerHeaders = (headers: Readonly<Record<string, string | undefined>>) =>
  Layer.effect(
    McpCaller,
    Effect.gen(function*() {
      const client = yield* DaemonClient
      const peerId = headers[PEER_ID_HEADER]
      const token = headers[PEER_TOKEN_HEADER]
      const get = peerId && token
        ? client.call((api) => api.peers.get({ path: { ref: peerId } }), { peerToken: token }).pipe(
          Effect.map((p) => ({
            peer_id: p.peer_id,
            token,
            display_name: p.display_name,
            circle: p.circle,
            backend: p.backend
          })),
          Effect.mapError((e) => new CallerError({ message: e.message }))
        )
        : Effect.fail(
          new CallerError({
            message: "over HTTP, send X-Repowire-Peer-Id and X-Repowire-Peer-Token headers (POST /peers returns both)"
          })
        )
      return McpCaller.of({ get, renew: get })
    })
  )
