import { Clock, Effect } from "effect"
import type { RemotePeer } from "../../protocol/MeshWire.js"
import type { Database } from "../../services/Database.js"
import type { EventLog } from "../../services/EventLog.js"
import { toPeer } from "../PeerRows.js"
import type { PeerTable } from "./PeerTable.js"

const unusableDigest = () =>
  `link:${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(24))).toString("hex")}`

/**
 * Peers of linked machines, kept as rows marked with their link so that listing, naming,
 * circles and access rules treat them like local ones. Their linked daemon is the only source
 * of what they are; no token reaches them (the digest is of nothing anyone holds).
 */
export const makeRemotePeers = (db: Database["Type"], table: PeerTable, events: EventLog["Type"]) => {
  const { rereadNow, rows } = table

  const syncRemote = (machine: string, peers: ReadonlyArray<RemotePeer>) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const seen = new Set<string>()
      for (const peer of peers) {
        const existing = rows.get(peer.peer_id)
        // Another machine (or this one) already owns this id: a linked daemon cannot take it over.
        if (existing !== undefined && existing.link !== machine) continue
        seen.add(peer.peer_id)
        if (existing === undefined) {
          db.now.run(
            `INSERT INTO peers (peer_id, display_name, base_name, path, machine, backend, circle, role, status,
               description, metadata, token_digest, last_seen, created_at, link)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)`,
            [
              peer.peer_id,
              peer.display_name,
              peer.display_name,
              peer.path,
              machine,
              peer.backend,
              peer.circle,
              peer.role,
              peer.status,
              peer.description,
              unusableDigest(),
              now,
              now,
              machine
            ]
          )
          rereadNow(peer.peer_id)
          events.emitNow({
            type: "peer_joined",
            circle: peer.circle,
            peer: toPeer(rows.get(peer.peer_id)!, peer.status)
          }, now)
          continue
        }
        const changed = existing.display_name !== peer.display_name || existing.circle !== peer.circle ||
          existing.description !== peer.description || existing.role !== peer.role || existing.path !== peer.path ||
          existing.backend !== peer.backend
        if (!changed && existing.status === peer.status) continue
        db.now.run(
          `UPDATE peers SET display_name = ?, base_name = ?, path = ?, backend = ?, circle = ?, role = ?, status = ?,
             description = ?, last_seen = ? WHERE peer_id = ?`,
          [
            peer.display_name,
            peer.display_name,
            peer.path,
            peer.backend,
            peer.circle,
            peer.role,
            peer.status,
            peer.description,
            now,
            peer.peer_id
          ]
        )
        rereadNow(peer.peer_id)
        const row = rows.get(peer.peer_id)!
        if (changed) events.emitNow({ type: "peer_updated", circle: row.circle, peer: toPeer(row, row.status) }, now)
        else {
          events.emitNow({
            type: "peer_status",
            circle: row.circle,
            peer_id: row.peer_id,
            display_name: row.display_name,
            status: row.status
          }, now)
        }
      }
      for (const row of [...rows.values()]) {
        if (row.link !== machine || seen.has(row.peer_id)) continue
        forgetNow(row.peer_id, now)
      }
    })

  const forgetNow = (peerId: string, now: number) => {
    const row = rows.get(peerId)
    if (row === undefined) return
    db.now.run("DELETE FROM peers WHERE peer_id = ?", [peerId])
    rereadNow(peerId)
    events.emitNow({ type: "peer_left", circle: row.circle, peer_id: row.peer_id, display_name: row.display_name }, now)
  }

  /** The link is down: its peers stay listed, offline. Removed: they go. */
  const remoteGone = (machine: string, forget: boolean) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      for (const row of [...rows.values()]) {
        if (row.link !== machine) continue
        if (forget) forgetNow(row.peer_id, now)
        else if (row.status !== "offline") {
          db.now.run("UPDATE peers SET status = 'offline' WHERE peer_id = ?", [row.peer_id])
          rereadNow(row.peer_id)
          events.emitNow({
            type: "peer_status",
            circle: row.circle,
            peer_id: row.peer_id,
            display_name: row.display_name,
            status: "offline"
          }, now)
        }
      }
    })

  /** The ids of a linked machine's peers. */
  const remoteIds = (machine: string) =>
    Effect.sync(() => [...rows.values()].filter((r) => r.link === machine).map((r) => r.peer_id))

  return { syncRemote, remoteGone, remoteIds }
}
