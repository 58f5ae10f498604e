import { Clock, Effect, Layer } from "effect"
import { durationMillis } from "../protocol/ConfigFile.js"
import type { PeerStatus } from "../protocol/Peer.js"
import { Config } from "../services/Config.js"
import { Database } from "../services/Database.js"
import { EventLog } from "../services/EventLog.js"
import { Ids } from "../services/Ids.js"
import { type PeerFilter, PeerRegistry } from "../services/PeerRegistry.js"
import { Transports } from "../services/Transports.js"
import { machineNameOf } from "./mesh/MachineName.js"
import { nextFreeName } from "./PeerNames.js"
import { makePeerTable } from "./registry/PeerTable.js"
import { makePeerView } from "./registry/PeerView.js"
import { makeRegister } from "./registry/Register.js"
import { makeRemotePeers } from "./registry/RemotePeers.js"
import { makeSeenAndResolve } from "./registry/SeenAndResolve.js"

/** The registry's parts live in `registry/`; this assembles them and holds the plain updates. */
export const PeerRegistryLive = Layer.effect(
  PeerRegistry,
  Effect.gen(function*() {
    const db = yield* Database
    const { values } = yield* Config
    const events = yield* EventLog
    const transports = yield* Transports
    const ids = yield* Ids
    const idleTimeout = durationMillis(values.daemon.peers.idle_timeout)
    const forgetAfter = durationMillis(values.daemon.peers.forget_after)

    const table = yield* makePeerTable(db)
    const { findAll, reread, setColumns } = table
    const peerView = makePeerView(table, transports, events, idleTimeout)
    const { get, getNow, liveNamesInCircle, load, view } = peerView
    const { authenticate, byTokenNow, resolve, resolveNow, touch } = makeSeenAndResolve(db, table, peerView, events)
    const { remoteGone, remoteIds, syncRemote } = makeRemotePeers(db, table, events)
    const { dashboard, register } = makeRegister(table, peerView, events, ids, machineNameOf(values))

    const list = Effect.fnUntraced(function*(filter: PeerFilter) {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* findAll
      const peers = yield* view(filter.localOnly === true ? rows.filter((r) => r.link === null) : rows)
      return peers.filter((p) =>
        (filter.circle === undefined || p.circle === filter.circle) &&
        (filter.status === undefined || p.status === filter.status) &&
        (filter.all === true || p.status !== "offline" || now - Date.parse(p.last_seen) < forgetAfter)
      )
    })

    const update = (peerId: string, changes: Record<string, string>, announce: "peer_updated" | "peer_status") =>
      Effect.gen(function*() {
        const [before] = yield* load(peerId)
        const now = yield* Clock.currentTimeMillis
        yield* setColumns(peerId, { ...changes, last_seen: now })
        const [, peer] = yield* load(peerId)
        if (announce === "peer_updated") {
          yield* events.emit({ type: "peer_updated", circle: peer.circle, peer })
        } else if (before.status !== peer.status) {
          yield* events.emit({
            type: "peer_status",
            circle: peer.circle,
            peer_id: peer.peer_id,
            display_name: peer.display_name,
            status: peer.status
          })
        }
        return peer
      })

    const setCircle = Effect.fn("PeerRegistry.setCircle")(function*(peerId: string, circle: string) {
      const [row] = yield* load(peerId)
      const taken = yield* liveNamesInCircle(circle, peerId)
      const name = row.circle === circle && !taken.has(row.display_name)
        ? row.display_name
        : nextFreeName(row.base_name, taken)
      return yield* update(peerId, { circle, display_name: name }, "peer_updated")
    })

    const remove = Effect.fn("PeerRegistry.remove")(function*(peerId: string) {
      const [, peer] = yield* load(peerId)
      yield* db.run("DELETE FROM peers WHERE peer_id = ?", [peerId]).pipe(Effect.zipRight(reread(peerId)))
      yield* events.emit({
        type: "peer_left",
        circle: peer.circle,
        peer_id: peer.peer_id,
        display_name: peer.display_name
      })
      return peer
    })

    const counts = Effect.map(list({ all: true }), (peers) => ({
      online: peers.filter((p) => p.status === "online").length,
      busy: peers.filter((p) => p.status === "busy").length,
      offline: peers.filter((p) => p.status === "offline").length
    }))

    return PeerRegistry.of({
      register,
      authenticate,
      byTokenNow,
      resolve,
      resolveNow,
      get,
      getNow,
      list,
      setDescription: (peerId, description) => update(peerId, { description }, "peer_updated"),
      setCircle,
      setStatus: (peerId, status: PeerStatus) => update(peerId, { status }, "peer_status"),
      setRole: (peerId, role) => update(peerId, { role }, "peer_updated"),
      setTurn: (peerId, turn_state) => update(peerId, { turn_state }, "peer_updated"),
      touch,
      remove,
      dashboard,
      syncRemote,
      remoteGone,
      remoteIds,
      isRemoteNow: (peerId) => (table.rows.get(peerId)?.link ?? null) !== null,
      localPeers: Effect.flatMap(table.matching((r) => r.link === null), view),
      counts
    })
  })
)
