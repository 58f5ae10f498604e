import { Clock, Effect, Either, Option } from "effect"
import { type AmbiguousPeer, Forbidden, PeerNotFound, Unauthorized } from "../../protocol/Errors.js"
import { type Peer, PEER_ID_PATTERN } from "../../protocol/Peer.js"
import type { Database } from "../../services/Database.js"
import type { EventLog } from "../../services/EventLog.js"
import type { Viewer } from "../../services/PeerRegistry.js"
import { digest, matchesDigest } from "../Digest.js"
import { pick } from "../PeerNames.js"
import type { PeerRow } from "../PeerRows.js"
import { reachesEveryCircle } from "../Reach.js"
import type { PeerTable } from "./PeerTable.js"
import type { PeerView } from "./PeerView.js"

/** The PeerId schema's own pattern, tested directly: a Schema check costs more than the lookup it guards. */
const isPeerId = (ref: string) => PEER_ID_PATTERN.test(ref)

const TOUCH_EVERY_MS = 5000

/** The hot path's peer steps: who a token belongs to (marking it seen) and whom a name means. */
export const makeSeenAndResolve = (
  db: Database["Type"],
  table: PeerTable,
  peers: PeerView,
  events: EventLog["Type"]
) => {
  const { findById, idByDigest, rereadNow, rows } = table
  const { viewNow } = peers

  /**
   * Marks an authenticated peer as seen at `now`. last_seen is written at most every few
   * seconds: a peer sending a burst costs one write, not one per request.
   */
  const markSeenNow = (row: PeerRow, now: number): Peer => {
    const wasOffline = row.status === "offline"
    if (!wasOffline && now - row.last_seen <= TOUCH_EVERY_MS) return viewNow([{ ...row, last_seen: now }], now)[0]!
    db.now.run(
      `UPDATE peers SET last_seen = ?, status = CASE status WHEN 'offline' THEN 'online' ELSE status END
       WHERE peer_id = ?`,
      [now, row.peer_id]
    )
    rereadNow(row.peer_id)
    const peer = viewNow([{ ...row, last_seen: now, status: wasOffline ? "online" : row.status }], now)[0]!
    if (wasOffline) {
      events.emitNow({
        type: "peer_status",
        circle: peer.circle,
        peer_id: peer.peer_id,
        display_name: peer.display_name,
        status: peer.status
      }, now)
    }
    return peer
  }
  const markSeen = (row: PeerRow) => Effect.map(Clock.currentTimeMillis, (now) => markSeenNow(row, now))

  const touch = (peerId: string) =>
    findById(peerId).pipe(
      Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (row) => Effect.asVoid(markSeen(row)) }))
    )

  const authenticate = Effect.fnUntraced(function*(peerId: string, token: string) {
    const row = yield* findById(peerId)
    if (Option.isNone(row) || !matchesDigest(token, row.value.token_digest)) {
      return yield* new Unauthorized({ message: "unknown peer or wrong peer token" })
    }
    return yield* markSeen(row.value)
  })

  /** The digest lookup is itself the check: tokens are 256 random bits. */
  const byTokenNow = (token: string, now: number) => {
    const row = rows.get(idByDigest.get(digest(token)) ?? "")
    return row === undefined ? undefined : markSeenNow(row, now)
  }

  const resolveNow = (
    ref: string,
    viewer: Viewer | undefined,
    circle: string | undefined,
    now: number
  ): Either.Either<Peer, PeerNotFound | AmbiguousPeer | Forbidden> => {
    const agentCircle = viewer === undefined || reachesEveryCircle(viewer) ? undefined : viewer.circle
    if (agentCircle !== undefined && circle !== undefined && circle !== agentCircle) {
      return Either.left(
        new Forbidden({ message: `agents reach only their own circle (${agentCircle}), not circle ${circle}` })
      )
    }
    if (isPeerId(ref)) {
      const row = rows.get(ref)
      if (row === undefined) return Either.left(new PeerNotFound({ message: `no peer with id ${ref}` }))
      const peer = viewNow([row], now)[0]!
      return agentCircle !== undefined && peer.circle !== agentCircle && !reachesEveryCircle(peer)
        ? Either.left(
          new Forbidden({
            message: `peer ${ref} is in circle ${peer.circle}; agents reach only their own circle (${agentCircle})`
          })
        )
        : Either.right(peer)
    }
    const scope = circle ?? agentCircle
    const at = ref.lastIndexOf("@")
    const name = at > 0 ? ref.slice(0, at) : ref
    const machine = at > 0 ? ref.slice(at + 1) : undefined
    // Humans, services and orchestrators belong to every circle: an agent can always reach them.
    const named = [...rows.values()].filter((r) =>
      r.display_name === name && (machine === undefined || r.machine === machine) &&
      (scope === undefined || r.circle === scope || (circle === undefined && reachesEveryCircle(r)))
    )
    return pick(ref, scope, viewNow(named, now))
  }
  const resolve = (ref: string, viewer?: Viewer, circle?: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => resolveNow(ref, viewer, circle, now))

  return { touch, authenticate, byTokenNow, resolveNow, resolve }
}
