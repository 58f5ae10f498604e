import { HttpServerRequest } from "@effect/platform"
import { Clock, Effect, Either } from "effect"
import { Forbidden, Unauthorized } from "../../protocol/Errors.js"
import { type Peer, PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Tunnelled } from "../../services/RequestContext.js"

/** The peer that owns a peer token (marked seen at `at`); a token nobody owns is refused. */
export const senderByTokenNow = (
  registry: PeerRegistry["Type"],
  token: string,
  at: number
): Either.Either<Peer, Unauthorized> => {
  const peer = registry.byTokenNow(token, at)
  return peer === undefined
    ? Either.left(new Unauthorized({ message: "unknown peer token: register again with POST /peers" }))
    : Either.right(peer)
}

export const senderByToken = (registry: PeerRegistry["Type"], token: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (at) => senderByTokenNow(registry, token, at))

/**
 * The peer a request acts as: the owner of its X-Repowire-Peer-Token, or — for the dashboard
 * page (an allow-listed Origin, already checked by the guard) and the relay tunnel — the
 * built-in human peer `dashboard`.
 */
export const currentSender = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const registry = yield* PeerRegistry
  const token = request.headers[PEER_TOKEN_HEADER]
  if (token !== undefined && token !== "") return yield* senderByToken(registry, token)
  if ((yield* Tunnelled) || request.headers["origin"] !== undefined) return yield* registry.dashboard
  return yield* new Unauthorized({
    message: "sending needs the peer's token in X-Repowire-Peer-Token (POST /peers returns it)"
  })
})

/** The caller may change `target`: it is that peer, or a human. */
export const authorizeFor = (target: Peer) =>
  Effect.flatMap(currentSender, (sender) =>
    sender.peer_id === target.peer_id || sender.role === "human"
      ? Effect.succeed(sender)
      : Effect.fail(new Forbidden({ message: `only ${target.display_name} itself (or a human) can change it` })))
