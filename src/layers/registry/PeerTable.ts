import { Effect, Option } from "effect"
import type { Database, SqlValue } from "../../services/Database.js"
import { PeerRow } from "../PeerRows.js"

const INSERT_PEER =
  `INSERT OR IGNORE INTO peers (peer_id, display_name, base_name, path, machine, backend, circle, role, status, description, metadata, token_digest, last_seen, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/**
 * The peers table, mirrored in memory: every request reads peers, and the daemon is the
 * table's only writer. Each write below re-reads the row it changed, so the mirror holds
 * exactly what is committed (peer writes are never part of a larger transaction).
 */
export const makePeerTable = Effect.fnUntraced(function*(db: Database["Type"]) {
  const rows = new Map<string, PeerRow>()
  const idByDigest = new Map<string, string>()
  const forget = (peerId: string) => {
    const row = rows.get(peerId)
    if (row !== undefined) idByDigest.delete(row.token_digest)
    rows.delete(peerId)
  }
  const remember = (row: PeerRow) => {
    forget(row.peer_id)
    rows.set(row.peer_id, row)
    idByDigest.set(row.token_digest, row.peer_id)
  }
  const rereadNow = (peerId: string) =>
    Option.match(db.now.one(PeerRow, "SELECT * FROM peers WHERE peer_id = ?", [peerId]), {
      onNone: () => forget(peerId),
      onSome: remember
    })
  const reread = (peerId: string) => Effect.sync(() => rereadNow(peerId))
  for (const row of yield* db.all(PeerRow, "SELECT * FROM peers")) remember(row)

  const matching = (keep: (row: PeerRow) => boolean) => Effect.sync(() => [...rows.values()].filter(keep))
  const findById = (id: string) => Effect.sync(() => Option.fromNullable(rows.get(id)))
  const findAll = Effect.sync(() =>
    [...rows.values()].sort((a, b) =>
      a.circle < b.circle ? -1 : a.circle > b.circle ? 1 : a.display_name < b.display_name ? -1 : 1
    )
  )
  const insertPeer = (row: Omit<PeerRow, "metadata" | "turn_state" | "link"> & { readonly metadata: string }) =>
    db.run(INSERT_PEER, [
      row.peer_id,
      row.display_name,
      row.base_name,
      row.path,
      row.machine,
      row.backend,
      row.circle,
      row.role,
      row.status,
      row.description,
      row.metadata,
      row.token_digest,
      row.last_seen,
      row.created_at
    ]).pipe(Effect.zipRight(reread(row.peer_id)))
  /** Sets columns of a peer; the column names come from this file, never from a request. */
  const setColumnsNow = (peerId: string, columns: Record<string, SqlValue>) => {
    db.now.run(
      `UPDATE peers SET ${Object.keys(columns).map((c) => `${c} = ?`).join(", ")} WHERE peer_id = ?`,
      [...Object.values(columns), peerId]
    )
    rereadNow(peerId)
  }
  const setColumns = (peerId: string, columns: Record<string, SqlValue>) =>
    Effect.sync(() => setColumnsNow(peerId, columns))

  return {
    rows,
    idByDigest,
    rereadNow,
    reread,
    matching,
    findById,
    findAll,
    insertPeer,
    setColumnsNow,
    setColumns
  }
})

export type PeerTable = Effect.Effect.Success<ReturnType<typeof makePeerTable>>
