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

    const expire = (now: number) =>
      sql`UPDATE messages SET state = 'expired' WHERE state = 'queued' AND expires_at <= ${now}`.pipe(Effect.orDie)

    const enqueue = Effect.fn("Deliveries.enqueue")(function*(messages: ReadonlyArray<Omit<Message, "state">>) {
      const now = yield* Clock.currentTimeMillis
      yield* expire(now)
      const perPeer = new Map<string, number>()
      messages.forEach((m) => perPeer.set(m.to_peer, (perPeer.get(m.to_peer) ?? 0) + 1))
      for (const [peer, adding] of perPeer) {
        const [{ n }] = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM messages
          WHERE to_peer = ${peer} AND state = 'queued'`.pipe(Effect.orDie) as Effect.Effect<[{ n: number }]>
        if (n + adding > maxPerPeer) {
          const name = messages.find((m) => m.to_peer === peer)?.to_name ?? peer
          return yield* new QueueFull({
            message: `${name} already has ${n} undelivered messages (limit ${maxPerPeer}); try again once it catches up`
          })
        }
      }
      if (messages.length === 0) return
      yield* sql`INSERT INTO messages ${
        sql.insert(messages.map((m) => ({ ...messageColumns(m), state: "queued", expires_at: now + ttl })))
      }`.pipe(Effect.orDie)
    })

    const pending = (peerId: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => pendingRows({ peer: peerId, now })).pipe(Effect.orDie)

    const get = (messageId: string) => byId(messageId).pipe(Effect.orDie, Effect.map(Option.getOrUndefined))

    const markDelivered = Effect.fn("Deliveries.markDelivered")(function*(messageId: string, peerId: string) {
      const rows = yield* sql`UPDATE messages SET state = 'delivered'
        WHERE id = ${messageId} AND to_peer = ${peerId} AND state = 'queued' RETURNING id`.pipe(Effect.orDie)
      return rows.length === 0 ? undefined : yield* get(messageId)
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

    return Deliveries.of({ enqueue, pending, markDelivered, drain, get })
  })
)
