import { Clock, Effect, Option } from "effect"
import { Unauthorized } from "../../protocol/Errors.js"
import { DEFAULT_CIRCLE, type RegisterPeer } from "../../protocol/Peer.js"
import type { EventLog } from "../../services/EventLog.js"
import type { Ids } from "../../services/Ids.js"
import { DASHBOARD_PEER_ID } from "../../services/PeerRegistry.js"
import { digest, matchesDigest } from "../Digest.js"
import { nextFreeName } from "../PeerNames.js"
import type { PeerTable } from "./PeerTable.js"
import type { PeerView } from "./PeerView.js"

/** How a peer comes to be: registering (new, or resuming with its token) and the dashboard's own peer. */
export const makeRegister = (
  table: PeerTable,
  peers: PeerView,
  events: EventLog["Type"],
  ids: Ids["Type"],
  machine: string
) => {
  const { findById, insertPeer, setColumns } = table
  const { liveNamesInCircle, load } = peers

  const register = Effect.fn("PeerRegistry.register")(function*(input: RegisterPeer, token: string | undefined) {
    const now = yield* Clock.currentTimeMillis
    const circle = input.circle ?? DEFAULT_CIRCLE
    if (input.peer_id !== undefined) {
      if (token === undefined) {
        return yield* new Unauthorized({ message: "resuming a peer needs its token in X-Repowire-Peer-Token" })
      }
      const [row] = yield* load(input.peer_id)
      if (!matchesDigest(token, row.token_digest)) {
        return yield* new Unauthorized({ message: `the token does not belong to ${input.peer_id}` })
      }
      const taken = yield* liveNamesInCircle(circle, row.peer_id)
      const keep = row.base_name === input.name && row.circle === circle && !taken.has(row.display_name)
      const displayName = keep ? row.display_name : nextFreeName(input.name, taken)
      yield* setColumns(row.peer_id, {
        display_name: displayName,
        base_name: input.name,
        path: input.path ?? row.path,
        machine,
        backend: input.backend,
        circle,
        role: input.role ?? row.role,
        status: "online",
        turn_state: null,
        description: input.description ?? row.description,
        metadata: JSON.stringify(input.metadata ?? row.metadata),
        last_seen: now
      })
      const [, peer] = yield* load(row.peer_id)
      if (row.status === "offline") yield* events.emit({ type: "peer_joined", circle, peer })
      return { peer_id: peer.peer_id, display_name: peer.display_name, circle, token }
    }
    const peerId = yield* ids.make("peer")
    const secret = yield* ids.secret
    const taken = yield* liveNamesInCircle(circle, undefined)
    const displayName = nextFreeName(input.name, taken)
    yield* insertPeer({
      peer_id: peerId,
      display_name: displayName,
      base_name: input.name,
      path: input.path ?? null,
      machine,
      backend: input.backend,
      circle,
      role: input.role ?? (input.backend === "dashboard" || input.backend === "cli" ? "human" : "agent"),
      status: "online",
      description: input.description ?? "",
      metadata: JSON.stringify(input.metadata ?? {}),
      token_digest: digest(secret),
      last_seen: now,
      created_at: now
    })
    const [, peer] = yield* load(peerId)
    yield* events.emit({ type: "peer_joined", circle, peer })
    return { peer_id: peer.peer_id, display_name: displayName, circle, token: secret }
  })

  const dashboard = Effect.gen(function*() {
    const existing = yield* findById(DASHBOARD_PEER_ID)
    if (Option.isNone(existing)) {
      const now = yield* Clock.currentTimeMillis
      yield* insertPeer({
        peer_id: DASHBOARD_PEER_ID,
        display_name: "dashboard",
        base_name: "dashboard",
        path: null,
        machine,
        backend: "dashboard",
        circle: DEFAULT_CIRCLE,
        role: "human",
        status: "online",
        description: "the person at the dashboard",
        metadata: "{}",
        token_digest: digest(yield* ids.secret),
        last_seen: now,
        created_at: now
      })
    }
    const [, peer] = yield* Effect.orDie(load(DASHBOARD_PEER_ID))
    return peer
  })

  return { register, dashboard }
}
