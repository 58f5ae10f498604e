import { HttpServerRequest } from "@effect/platform"
import { Clock, Effect, Either } from "effect"
import { Forbidden, Unauthorized } from "../../protocol/Errors.js"
import { HUMAN_CREDENTIAL_HEADER, type Peer, PEER_TOKEN_HEADER, type RegisterPeer } from "../../protocol/Peer.js"
import { AuthToken } from "../../services/AuthToken.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { hasDashboardSession } from "./DashboardSession.js"

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
 * page (its session cookie, minted for the page and never a header a client can write) and
 * the relay tunnel (the relay's own login) — the built-in human peer `dashboard`.
 */
export const currentSender = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const registry = yield* PeerRegistry
  const token = request.headers[PEER_TOKEN_HEADER]
  if (token !== undefined && token !== "") return yield* senderByToken(registry, token)
  if ((yield* Tunnelled) || hasDashboardSession(yield* AuthToken, request)) return yield* registry.dashboard
  return yield* new Unauthorized({
    message: "sending needs the peer's token in X-Repowire-Peer-Token (POST /peers returns it)"
  })
})

/** The role a registration asks for, as the registry would default it. */
const roleOf = (input: RegisterPeer) =>
  input.role ?? (input.backend === "dashboard" || input.backend === "cli" ? "human" : "agent")

/**
 * Anyone local may register an agent; a human or service peer (which reaches every circle and
 * may change other peers) needs the daemon's auth token or the local human credential.
 */
export const authorizeRegistration = Effect.fn("Caller.authorizeRegistration")(function*(input: RegisterPeer) {
  if (roleOf(input) === "agent") return
  const request = yield* HttpServerRequest.HttpServerRequest
  const auth = yield* AuthToken
  if (auth.humanCredentialValid(request.headers[HUMAN_CREDENTIAL_HEADER])) return
  return yield* new Forbidden({
    message: `registering a ${roleOf(input)} peer needs the daemon's auth token or the local human credential ` +
      `($REPOWIRE_HOME/human.token) in ${HUMAN_CREDENTIAL_HEADER}`
  })
})

/** The caller may change `target`: it is that peer, or a human. */
export const authorizeFor = (target: Peer) =>
  Effect.flatMap(currentSender, (sender) =>
    sender.peer_id === target.peer_id || sender.role === "human"
      ? Effect.succeed(sender)
      : Effect.fail(new Forbidden({ message: `only ${target.display_name} itself (or a human) can change it` })))
