import { Clock, Effect, Either, Layer, Option } from "effect"
import * as os from "node:os"
import { durationMillis } from "../protocol/ConfigFile.js"
import { type AmbiguousPeer, Forbidden, PeerNotFound, Unauthorized } from "../protocol/Errors.js"
import { DEFAULT_CIRCLE, type Peer, PEER_ID_PATTERN, type PeerStatus, type RegisterPeer } from "../protocol/Peer.js"
import { Config } from "../services/Config.js"
import { Database, type SqlValue } from "../services/Database.js"
import { EventLog } from "../services/EventLog.js"
import { Ids } from "../services/Ids.js"
import { DASHBOARD_PEER_ID, type PeerFilter, PeerRegistry, type Viewer } from "../services/PeerRegistry.js"
import { Transports } from "../services/Transports.js"
import { digest, matchesDigest } from "./Digest.js"
import { nextFreeName, pick } from "./PeerNames.js"
import { PeerRow, toPeer } from "./PeerRows.js"
import { reachesEveryCircle } from "./Reach.js"

/** The PeerId schema's own pattern, tested directly: a Schema check costs more than the lookup it guards. */
const isPeerId = (ref: string) => PEER_ID_PATTERN.test(ref)

const TOUCH_EVERY_MS = 5000

const INSERT_PEER = `INSERT OR IGNORE INTO peers (peer_id, display_name, base_name, path, machine, backend, circle, role, status, description, metadata, token_digest, last_seen, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

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

    /**
     * The peers table, mirrored in memory: every request reads peers, and the daemon is the
     * table's only writer. Each write below re-reads the row it changed, so the mirror holds
     * exactly what is committed (peer writes are never part of a larger transaction).
     */
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
    const insertPeer = (row: Omit<PeerRow, "metadata" | "turn_state"> & { readonly metadata: string }) =>
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

    /** A row no transport holds that has not been seen for `idle_timeout`, still marked present. */
    const isStale = (row: PeerRow, live: ReadonlySet<string>, now: number) =>
      row.peer_id !== DASHBOARD_PEER_ID && !live.has(row.peer_id) && row.status !== "offline" &&
      now - row.last_seen > idleTimeout

    /** What a peer's status really is: one with a live transport is online (or busy). */
    const peerOf = (row: PeerRow, live: ReadonlySet<string>, stale: boolean) =>
      row.peer_id === DASHBOARD_PEER_ID
        ? toPeer(row, "online")
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

    const get = (peerId: string) =>
      findById(peerId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeed(Option.none<Peer>()),
          onSome: (row) => Effect.map(view([row]), (peers) => Option.some(peers[0]!))
        }))
      )

    const liveNamesInCircle = Effect.fnUntraced(function*(circle: string, except: string | undefined) {
      const peers = yield* view(yield* matching((r) => r.circle === circle && r.peer_id !== except))
      return new Set(peers.filter((p) => p.status !== "offline").map((p) => p.display_name))
    })

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
          machine: input.machine ?? row.machine,
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
        machine: input.machine ?? os.hostname(),
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
      // Humans, services and orchestrators belong to every circle: an agent can always reach them.
      const named = [...rows.values()].filter((r) =>
        r.display_name === ref &&
        (scope === undefined || r.circle === scope || (circle === undefined && reachesEveryCircle(r)))
      )
      return pick(ref, scope, viewNow(named, now))
    }
    const resolve = (ref: string, viewer?: Viewer, circle?: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => resolveNow(ref, viewer, circle, now))

    const list = Effect.fnUntraced(function*(filter: PeerFilter) {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* findAll
      const peers = yield* view(rows)
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
      yield* events.emit({ type: "peer_left", circle: peer.circle, peer_id: peer.peer_id, display_name: peer.display_name })
      return peer
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
          machine: os.hostname(),
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
      list,
      setDescription: (peerId, description) => update(peerId, { description }, "peer_updated"),
      setCircle,
      setStatus: (peerId, status: PeerStatus) => update(peerId, { status }, "peer_status"),
      setRole: (peerId, role) => update(peerId, { role }, "peer_updated"),
      setTurn: (peerId, turn_state) => update(peerId, { turn_state }, "peer_updated"),
      touch,
      remove,
      dashboard,
      counts
    })
  })
)
