import { Clock, Effect, Option } from "effect"
import { PeerNotFound } from "../../protocol/Errors.js"
import type { EventLog } from "../../services/EventLog.js"
import { DASHBOARD_PEER_ID } from "../../services/PeerRegistry.js"
import type { Transports } from "../../services/Transports.js"
import { type PeerRow, toPeer } from "../PeerRows.js"
import type { PeerTable } from "./PeerTable.js"

/** Rows seen as peers: each one's status as it really is, given which peers hold a live transport. */
export const makePeerView = (
  table: PeerTable,
  transports: Transports["Type"],
  events: EventLog["Type"],
  idleTimeout: number
) => {
  const { findById, matching, setColumnsNow } = table

  /** A row no transport holds that has not been seen for `idle_timeout`, still marked present. */
  const isStale = (row: PeerRow, live: ReadonlySet<string>, now: number) =>
    row.peer_id !== DASHBOARD_PEER_ID && row.link === null && !live.has(row.peer_id) && row.status !== "offline" &&
    now - row.last_seen > idleTimeout

  /** What a peer's status really is: one with a live transport is online (or busy); a remote one's is its daemon's word. */
  const peerOf = (row: PeerRow, live: ReadonlySet<string>, stale: boolean) =>
    row.peer_id === DASHBOARD_PEER_ID
      ? toPeer(row, "online")
      : row.link !== null
      ? toPeer(row, row.status)
      : live.has(row.peer_id)
      ? toPeer(row, row.status === "offline" ? "online" : row.status)
      : toPeer(row, stale ? "offline" : row.status)

  const markOfflineNow = (row: PeerRow, now: number) => {
    setColumnsNow(row.peer_id, { status: "offline" })
    events.emitNow({
      type: "peer_status",
      circle: row.circle,
      peer_id: row.peer_id,
      display_name: row.display_name,
      status: "offline"
    }, now)
  }

  /**
   * The rows as peers, with their status as it really is at `now`. Stale rows are repaired
   * here, when a request looks at them, instead of by a background timer.
   */
  const viewNow = (rows: ReadonlyArray<PeerRow>, now: number) => {
    const live = transports.livePeersNow()
    return rows.map((row) => {
      const stale = isStale(row, live, now)
      if (stale) markOfflineNow(row, now)
      return peerOf(row, live, stale)
    })
  }
  const view = (rows: ReadonlyArray<PeerRow>) => Effect.map(Clock.currentTimeMillis, (now) => viewNow(rows, now))

  const load = (peerId: string) =>
    findById(peerId).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new PeerNotFound({ message: `no peer with id ${peerId}` })),
        onSome: (row) => Effect.map(view([row]), (peers) => [row, peers[0]!] as const)
      }))
    )

  const liveNamesInCircle = Effect.fnUntraced(function*(circle: string, except: string | undefined) {
    const peers = yield* view(yield* matching((r) => r.circle === circle && r.peer_id !== except && r.link === null))
    return new Set(peers.filter((p) => p.status !== "offline").map((p) => p.display_name))
  })

  const getNow = (peerId: string, now: number) =>
    Option.map(Option.fromNullable(table.rows.get(peerId)), (row) => viewNow([row], now)[0]!)
  const get = (peerId: string) => Effect.map(Clock.currentTimeMillis, (now) => getNow(peerId, now))

  return { viewNow, view, load, get, getNow, liveNamesInCircle }
}

export type PeerView = ReturnType<typeof makePeerView>
