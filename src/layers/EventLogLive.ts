import { Chunk, Clock, Effect, Layer, Option, PubSub, Queue, Ref, Schema, Stream } from "effect"
import { MeshEvent, type NewMeshEvent } from "../protocol/MeshEvent.js"
import { Config } from "../services/Config.js"
import { Database, type SqlValue } from "../services/Database.js"
import { EventLog, type EventQuery } from "../services/EventLog.js"

const EventRow = Schema.Struct({
  id: Schema.Number,
  at: Schema.Number,
  body: Schema.String
})

const decodeEvent = Schema.decodeUnknown(MeshEvent)

/** The peers an event concerns, indexed for `?peer=` queries. */
const partiesOf = (event: NewMeshEvent): readonly [string | null, string | null] => {
  switch (event.type) {
    case "peer_joined":
    case "peer_updated":
      return [event.peer.peer_id, null]
    case "peer_left":
    case "peer_status":
    case "chat":
    case "tool_call":
      return [event.peer_id, null]
    case "delivery":
      return [event.to_peer, null]
    case "broadcast":
      return [event.from_peer, null]
    case "ask":
    case "ack":
    case "notify":
    case "policy_denied":
      return [event.from_peer, event.to_peer]
  }
}

const PAGE = 500

export const EventLogLive = Layer.scoped(
  EventLog,
  Effect.gen(function*() {
    const db = yield* Database
    const { values } = yield* Config
    const retain = values.daemon.events.retain
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<MeshEvent>(), PubSub.shutdown)

    const rowToEvent = (row: typeof EventRow.Type) =>
      Effect.flatMap(
        Effect.try(() => JSON.parse(row.body) as Record<string, unknown>),
        (body) => decodeEvent({ ...body, id: row.id, at: new Date(row.at).toISOString() })
      ).pipe(Effect.orDie)

    const appendNow = (event: NewMeshEvent, at: number): MeshEvent => {
      const [a, b] = partiesOf(event)
      // The id is the row's rowid (INTEGER PRIMARY KEY), which SQLite hands back without a read.
      const id = Number(
        db.now.run(
          "INSERT INTO events (type, circle, peer_a, peer_b, at, body) VALUES (?, ?, ?, ?, ?, ?)",
          [event.type, event.circle, a, b, at, JSON.stringify(event)]
        ).lastInsertRowid
      )
      if (id % 1000 === 0) db.now.run("DELETE FROM events WHERE id <= ?", [id - retain])
      return { ...event, id, at: new Date(at).toISOString() } as MeshEvent
    }
    const append = (event: NewMeshEvent) => Effect.map(Clock.currentTimeMillis, (at) => appendNow(event, at))

    // The hub is unbounded: an offer always succeeds at once, and wakes the followers.
    const publishNow = (events: ReadonlyArray<MeshEvent>) => {
      for (const event of events) hub.unsafeOffer(event)
    }
    const publish = (events: ReadonlyArray<MeshEvent>) => Effect.sync(() => publishNow(events))
    const emitNow = (event: NewMeshEvent, at: number) => {
      const appended = appendNow(event, at)
      publishNow([appended])
      return appended
    }

    const page = (since: number, limit: number, query: EventQuery = {}) =>
      Effect.gen(function*() {
        const peer = query.peer
        const circle = query.circle
        const params: Array<SqlValue> = [since]
        if (peer !== undefined) params.push(peer, peer)
        if (circle !== undefined) params.push(circle)
        const rows = yield* db.all(
          EventRow,
          `SELECT id, at, body FROM events WHERE id > ?
           ${peer === undefined ? "" : "AND (peer_a = ? OR peer_b = ?)"}
           ${circle === undefined ? "" : "AND circle = ?"}
           ORDER BY id LIMIT ?`,
          [...params, limit]
        )
        return yield* Effect.forEach(rows, rowToEvent)
      })

    const list = (query: EventQuery) => page(query.since ?? 0, query.limit ?? 200, query)

    /**
     * The backlog is read after subscribing, so nothing published in between is missed; the
     * database stays the source of truth, so events are emitted strictly in id order.
     */
    const follow = (since: number) =>
      Effect.gen(function*() {
        const subscription = yield* PubSub.subscribe(hub)
        const last = yield* Ref.make(since)
        const catchUp = Stream.repeatEffectChunkOption(
          Effect.gen(function*() {
            const events = yield* page(yield* Ref.get(last), PAGE)
            if (events.length === 0) return yield* Effect.fail(Option.none())
            yield* Ref.set(last, events[events.length - 1]!.id)
            return Chunk.unsafeFromArray(events)
          })
        )
        const live = Stream.fromQueue(subscription).pipe(
          Stream.mapEffect((event) =>
            Ref.get(last).pipe(Effect.flatMap((seen) => {
              if (event.id <= seen) return Effect.succeed(Chunk.empty<MeshEvent>())
              if (event.id === seen + 1) return Effect.as(Ref.set(last, event.id), Chunk.of(event))
              return Stream.runCollect(catchUp)
            }))
          ),
          Stream.flattenChunks
        )
        yield* Effect.addFinalizer(() => Queue.shutdown(subscription))
        return Stream.concat(catchUp, live)
      })

    return EventLog.of({
      append,
      appendNow,
      publish,
      publishNow,
      emit: (event) => Effect.map(Clock.currentTimeMillis, (at) => emitNow(event, at)),
      emitNow,
      list,
      follow
    })
  })
)
