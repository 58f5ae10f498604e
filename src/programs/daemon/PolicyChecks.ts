/** The access rules where the HTTP app serves reads (peers, events, asks) and uploads; messages are checked by the MessageRouter. */
import { HttpServerRequest } from "@effect/platform"
import { Clock, Effect } from "effect"
import { callerOf, makeGate } from "../../layers/policy/Gate.js"
import { PolicyDenied, SpawnRefused } from "../../protocol/Errors.js"
import type { MeshEvent } from "../../protocol/MeshEvent.js"
import type { Ask } from "../../protocol/Message.js"
import { type Peer, PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { AuthToken } from "../../services/AuthToken.js"
import { EventLog } from "../../services/EventLog.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Policy, type PolicyPeer } from "../../services/Policy.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { hasDashboardSession } from "./DashboardSession.js"

/**
 * Who is reading, for the `read` rules: the owner of the request's peer token; the built-in
 * `dashboard` for the dashboard page (its session cookie) and the relay tunnel; otherwise a local
 * reader with no peer (the CLI's `peers`), which only `*` and `via:local` select.
 */
export const currentCaller = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const registry = yield* PeerRegistry
  const tunnelled = yield* Tunnelled
  const via = tunnelled ? "relay" as const : "local" as const
  const token = request.headers[PEER_TOKEN_HEADER]
  if (token !== undefined && token !== "") {
    const peer = registry.byTokenNow(token, yield* Clock.currentTimeMillis)
    if (peer !== undefined) return callerOf(peer, via)
  }
  if (tunnelled || hasDashboardSession(yield* AuthToken, request)) return callerOf(yield* registry.dashboard, via)
  return callerOf(undefined, via)
})

/** A peer the log names but the registry has forgotten: only its id and name are known. */
const forgotten = (peer_id: string, display_name: string, circle: string): PolicyPeer => ({
  peer_id,
  display_name,
  circle,
  backend: "",
  role: "",
  machine: ""
})

/** The peers an event is about, as the rules see them. */
const partiesOf = (event: MeshEvent, known: (id: string) => Peer | undefined): ReadonlyArray<PolicyPeer> => {
  const peer = (id: string | null, name: string | null) =>
    id === null || id === "" ? [] : [known(id) ?? forgotten(id, name ?? id, event.circle)]
  switch (event.type) {
    case "peer_joined":
    case "peer_updated":
      return [event.peer]
    case "peer_left":
    case "peer_status":
    case "chat":
    case "tool_call":
      return peer(event.peer_id, event.display_name)
    case "delivery":
      return peer(event.to_peer, event.to_name)
    case "broadcast":
      return peer(event.from_peer, event.from_name)
    case "ask":
    case "ack":
    case "notify":
    case "policy_denied":
      return [...peer(event.from_peer, event.from_name), ...peer(event.to_peer, event.to_name)]
  }
}

/**
 * What a reader may see under the `read` rules: peers, and events about peers it may read.
 * Undefined while no policy is in force (everything is visible, as before).
 */
const makeReadFilter = (live: boolean) =>
  Effect.gen(function*() {
    const policy = yield* Policy
    if (!live && !policy.active()) return undefined
    const caller = yield* currentCaller
    const registry = yield* PeerRegistry
    // A stream opened while no policy was in force learns peers from the events it passes on:
    // listing them would be a look at the registry (which repairs liveness) per connection.
    const listed = policy.active() ? yield* registry.list({ all: true }) : []
    const peers = new Map<string, Peer>(listed.map((p) => [p.peer_id, p]))
    const mayRead = (target: PolicyPeer) =>
      !policy.active() || target.peer_id === caller.peer?.peer_id ||
      policy.decideNow({ caller, action: "read", target }).effect === "allow"
    const known = (id: string) => peers.get(id)
    return {
      caller,
      peer: mayRead,
      event: (event: MeshEvent) => {
        if (event.type === "peer_joined" || event.type === "peer_updated") peers.set(event.peer.peer_id, event.peer)
        return !policy.active() || partiesOf(event, known).every(mayRead)
      },
      ask: (ask: AskParties) => askParties(ask, known).every(mayRead)
    }
  })

export const readFilter = makeReadFilter(false)

/** For a live stream: built even with no policy, so rules that arrive later apply to it too. */
export const liveReadFilter = Effect.map(makeReadFilter(true), (filter) => filter!)

type AskParties = Pick<Ask, "from_peer" | "from_name" | "to_peer" | "to_name" | "circle">

const askParties = (ask: AskParties, known: (id: string) => Peer | undefined): ReadonlyArray<PolicyPeer> => [
  known(ask.from_peer) ?? forgotten(ask.from_peer, ask.from_name, ask.circle),
  known(ask.to_peer) ?? forgotten(ask.to_peer, ask.to_name, ask.circle)
]

/** Peers the reader asked for by name: 403 policy_denied (recorded) when it may not read one. */
const readAll = (targets: (known: (id: string) => Peer | undefined) => ReadonlyArray<PolicyPeer>) =>
  Effect.gen(function*() {
    const policy = yield* Policy
    if (!policy.active()) return
    const caller = yield* currentCaller
    const registry = yield* PeerRegistry
    const peers = new Map<string, Peer>((yield* registry.list({ all: true })).map((p) => [p.peer_id, p]))
    const gate = makeGate(policy, yield* EventLog)
    const at = yield* Clock.currentTimeMillis
    for (const target of targets((id) => peers.get(id))) {
      if (target.peer_id !== caller.peer?.peer_id) yield* gate.checkNow({ caller, action: "read", target }, at)
    }
  })

export const readOne = (target: Peer) => Effect.as(readAll(() => [target]), target)

export const readAsk = <A extends AskParties>(ask: A) => Effect.as(readAll((known) => askParties(ask, known)), ask)

/**
 * Uploading attachments (`attach` with no target): the refusal, recorded, or undefined. Its
 * services are optional so the upload route stands alone in tests; the daemon has them all.
 */
export const attachRefusal = Effect.gen(function*() {
  const policy = yield* Policy
  if (!policy.active()) return undefined
  const registry = yield* Effect.serviceOption(PeerRegistry)
  const events = yield* Effect.serviceOption(EventLog)
  if (registry._tag === "None" || events._tag === "None") {
    return new PolicyDenied({ message: "the access rules cannot identify this caller" })
  }
  const caller = yield* Effect.provideService(currentCaller, PeerRegistry, registry.value)
  const checked = makeGate(policy, events.value).checkNow(
    { caller, action: "attach", target: undefined },
    yield* Clock.currentTimeMillis
  )
  return checked._tag === "Left" ? checked.left : undefined
})

/**
 * Starting or stopping an agent (`spawn`): the access rules decide for the sender, and through
 * the relay it stays off unless a rule (not the default) allows it.
 */
export const spawnGate = Effect.fn("PolicyChecks.spawnGate")(function*(sender: Peer) {
  const policy = yield* Policy
  const tunnelled = yield* Tunnelled
  const question = {
    caller: callerOf(sender, tunnelled ? "relay" : "local"),
    action: "spawn" as const,
    target: undefined
  }
  const checked = makeGate(policy, yield* EventLog).checkNow(question, yield* Clock.currentTimeMillis)
  if (checked._tag === "Left") return yield* checked.left
  if (tunnelled && (!policy.active() || policy.decideNow(question).rule === undefined)) {
    return yield* new SpawnRefused({
      message: "spawning and killing agents through the relay needs a rule that allows it " +
        "(effect: allow, from: \"via:relay\", actions: [spawn])"
    })
  }
  return sender
})
