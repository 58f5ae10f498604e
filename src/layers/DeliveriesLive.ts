import { SqlClient, SqlSchema } from "@effect/sql"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { durationMillis } from "../protocol/ConfigFile.js"
import { QueueFull } from "../protocol/Errors.js"
import type { Message } from "../protocol/Message.js"
import { Config } from "../services/Config.js"
import { Deliveries } from "../services/Deliveries.js"
import { messageColumns, MessageRow } from "./MessageRows.js"

export const DeliveriesLive = Layer.effect(
  Deliveries,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { values } = yield* Config
    const maxPerPeer = values.daemon.delivery_queue.max_per_peer
    const ttl = durationMillis(values.daemon.delivery_queue.ttl)

    const pendingRows = SqlSchema.findAll({
      Request: Schema.Struct({ peer: Schema.String, now: Schema.Number }),
      Result: MessageRow,
      execute: ({ now, peer }) =>
        sql`SELECT * FROM messages WHERE to_peer = ${peer} AND state = 'queued' AND expires_at > ${now}
            ORDER BY created_at, rowid`
    })
    const byId = SqlSchema.findOne({
      Request: Schema.String,
      Result: MessageRow,
      execute: (id) => sql`SELECT * FROM messages WHERE id = ${id}`
    })

    /** Expired rows are marked when someone writes, at most once a minute: no timer. */
    let lastExpiry = Number.NEGATIVE_INFINITY
    const expire = (now: number) =>
      now - lastExpiry < 60_000 ? Effect.void : sql`UPDATE messages SET state = 'expired'
        WHERE state = 'queued' AND expires_at <= ${now}`.pipe(
          Effect.orDie,
          Effect.tap(() => Effect.sync(() => (lastExpiry = now)))
        )

    const queuedCounts = (peers: ReadonlyArray<string>) =>
      SqlSchema.findAll({
        Request: Schema.Array(Schema.String),
        Result: Schema.Struct({ to_peer: Schema.String, n: Schema.Number }),
        execute: (ids) =>
          sql`SELECT to_peer, COUNT(*) AS n FROM messages WHERE state = 'queued' AND ${sql.in("to_peer", ids)}
              GROUP BY to_peer`
      })(peers).pipe(Effect.orDie, Effect.map((rows) => new Map(rows.map((r) => [r.to_peer, r.n]))))

    /** Splits messages into those whose recipient has room and those that would overflow. */
    const partition = Effect.fnUntraced(function*(messages: ReadonlyArray<Omit<Message, "state">>) {
      const now = yield* Clock.currentTimeMillis
      yield* expire(now)
      const counts = yield* queuedCounts([...new Set(messages.map((m) => m.to_peer))])
      const room: Array<Omit<Message, "state">> = []
      const full: Array<Omit<Message, "state">> = []
      for (const m of messages) {
        const n = counts.get(m.to_peer) ?? 0
        if (n >= maxPerPeer) full.push(m)
        else {
          counts.set(m.to_peer, n + 1)
          room.push(m)
        }
      }
      return { now, room, full }
    })

    const insert = (messages: ReadonlyArray<Omit<Message, "state">>, now: number) =>
      messages.length === 0 ? Effect.void : sql`INSERT INTO messages ${
        sql.insert(messages.map((m) => ({ ...messageColumns(m), state: "queued", expires_at: now + ttl })))
      }`.pipe(Effect.orDie, Effect.asVoid)

    const enqueue = Effect.fn("Deliveries.enqueue")(function*(messages: ReadonlyArray<Omit<Message, "state">>) {
      const { full, now } = yield* partition(messages)
      if (full.length > 0) {
        return yield* new QueueFull({
          message: `${full[0]!.to_name} already has ${maxPerPeer} undelivered messages (the limit); ` +
            "try again once it catches up"
        })
      }
      yield* insert(messages, now)
    })

    const enqueueWhereRoom = Effect.fn("Deliveries.enqueueWhereRoom")(function*(
      messages: ReadonlyArray<Omit<Message, "state">>
    ) {
      const { full, now, room } = yield* partition(messages)
      yield* insert(room, now)
      return full
    })

    const pending = (peerId: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => pendingRows({ peer: peerId, now })).pipe(Effect.orDie)

    const get = (messageId: string) => byId(messageId).pipe(Effect.orDie, Effect.map(Option.getOrUndefined))

    const markDelivered = Effect.fn("Deliveries.markDelivered")(function*(messageId: string, peerId: string) {
      const rows = yield* sql`UPDATE messages SET state = 'delivered'
        WHERE id = ${messageId} AND to_peer = ${peerId} AND state = 'queued' RETURNING *`.pipe(Effect.orDie)
      return rows.length === 0 ? undefined : yield* Schema.decodeUnknown(MessageRow)(rows[0]).pipe(Effect.orDie)
    })

    const drain = Effect.fn("Deliveries.drain")(function*(peerId: string) {
      const messages = yield* pending(peerId)
      if (messages.length > 0) {
        yield* sql`UPDATE messages SET state = 'delivered' WHERE ${sql.in("id", messages.map((m) => m.id))}`.pipe(
          Effect.orDie
        )
      }
      return messages.map((m): Message => ({ ...m, state: "delivered" }))
    })

    return Deliveries.of({ enqueue, enqueueWhereRoom, pending, markDelivered, drain, get })
  })
)
