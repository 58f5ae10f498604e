import { Clock, Effect, Layer, Option } from "effect"
import { durationMillis } from "../protocol/ConfigFile.js"
import { QueueFull } from "../protocol/Errors.js"
import type { Message } from "../protocol/Message.js"
import { Config } from "../services/Config.js"
import { Database } from "../services/Database.js"
import { Deliveries } from "../services/Deliveries.js"
import { messageColumns, MessageRow } from "./MessageRows.js"

/** Nothing is inserted when the recipient already has its limit of queued messages. */
const INSERT_WHERE_ROOM = `INSERT INTO messages (id, kind, from_peer, from_name, to_peer, to_name, circle, text,
  correlation_id, reply_to, attachments, state, created_at, expires_at)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?
  WHERE (SELECT COUNT(*) FROM messages WHERE to_peer = ? AND state = 'queued') < ?`

export const DeliveriesLive = Layer.effect(
  Deliveries,
  Effect.gen(function*() {
    const db = yield* Database
    const { values } = yield* Config
    const maxPerPeer = values.daemon.delivery_queue.max_per_peer
    const ttl = durationMillis(values.daemon.delivery_queue.ttl)

    const pendingRows = (peer: string, now: number) =>
      db.all(
        MessageRow,
        `SELECT * FROM messages WHERE to_peer = ? AND state = 'queued' AND expires_at > ?
         ORDER BY created_at, rowid`,
        [peer, now]
      )

    /**
     * Expired rows are marked when someone writes, at most once a minute: no timer. Searched
     * peer by peer through the pending index: the table keeps every message ever sent, and a
     * scan of it would stall the request that happens to run this.
     */
    let lastExpiry = Number.NEGATIVE_INFINITY
    const expire = (now: number) => {
      if (now - lastExpiry < 60_000) return
      db.now.run(
        `UPDATE messages SET state = 'expired'
         WHERE to_peer IN (SELECT peer_id FROM peers) AND state = 'queued' AND expires_at <= ?`,
        [now]
      )
      lastExpiry = now
    }

    /** Inserts the message if its recipient has room: the check and the write are one statement. */
    const insertWhereRoom = (message: Omit<Message, "state">, now: number) => {
      const m = messageColumns(message)
      const { changes } = db.now.run(INSERT_WHERE_ROOM, [
        m.id,
        m.kind,
        m.from_peer,
        m.from_name,
        m.to_peer,
        m.to_name,
        m.circle,
        m.text,
        m.correlation_id,
        m.reply_to,
        m.attachments,
        m.created_at,
        now + ttl,
        m.to_peer,
        maxPerPeer
      ])
      return changes === 1
    }

    const enqueueNow = (message: Omit<Message, "state">, now: number) => {
      expire(now)
      return insertWhereRoom(message, now) ? undefined : new QueueFull({
        message: `${message.to_name} already has ${maxPerPeer} undelivered messages (the limit); ` +
          "try again once it catches up"
      })
    }
    const enqueue = (message: Omit<Message, "state">) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => enqueueNow(message, now) ?? Effect.void)

    const enqueueWhereRoom = (messages: ReadonlyArray<Omit<Message, "state">>) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        expire(now)
        return messages.filter((message) => !insertWhereRoom(message, now))
      })

    const pending = (peerId: string) => Effect.flatMap(Clock.currentTimeMillis, (now) => pendingRows(peerId, now))

    const getNow = (messageId: string) =>
      Option.getOrUndefined(db.now.one(MessageRow, "SELECT * FROM messages WHERE id = ?", [messageId]))
    const get = (messageId: string) => Effect.sync(() => getNow(messageId))

    const markDeliveredNow = (messageId: string, peerId: string) =>
      Option.getOrUndefined(db.now.one(
        MessageRow,
        `UPDATE messages SET state = 'delivered'
         WHERE id = ? AND to_peer = ? AND state = 'queued' RETURNING *`,
        [messageId, peerId]
      ))
    const markDelivered = (messageId: string, peerId: string) => Effect.sync(() => markDeliveredNow(messageId, peerId))

    const failNow = (messageId: string, peerId: string) =>
      Option.getOrUndefined(db.now.one(
        MessageRow,
        `UPDATE messages SET state = 'failed'
         WHERE id = ? AND to_peer = ? AND state = 'queued' RETURNING *`,
        [messageId, peerId]
      ))

    const drain = (peerId: string) =>
      db.transaction(Effect.gen(function*() {
        const messages = yield* pending(peerId)
        if (messages.length > 0) {
          yield* db.run("UPDATE messages SET state = 'delivered' WHERE id IN (SELECT value FROM json_each(?))", [
            JSON.stringify(messages.map((m) => m.id))
          ])
        }
        return messages.map((m): Message => ({ ...m, state: "delivered" }))
      }))

    return Deliveries.of({
      enqueue,
      enqueueNow,
      enqueueWhereRoom,
      pending,
      markDelivered,
      markDeliveredNow,
      failNow,
      drain,
      get,
      getNow
    })
  })
)
