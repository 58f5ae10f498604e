import { Clock, Effect, Either, Layer, Option, Schema } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import { AlreadyAcked, AskNotFound } from "../protocol/Errors.js"
import { type AskQuery, Asks } from "../services/Asks.js"
import { Database, type SqlValue } from "../services/Database.js"
import { AskRow } from "./MessageRows.js"

const MessageId = Schema.Struct({ message_id: Schema.String })

/** `?peer=` with its direction, as a WHERE fragment and its parameters. */
const peerFilter = (peer: string | undefined, direction: AskQuery["direction"]): [string, Array<SqlValue>] =>
  peer === undefined
    ? ["", []]
    : direction === "inbound"
    ? ["AND to_peer = ?", [peer]]
    : direction === "outbound"
    ? ["AND from_peer = ?", [peer]]
    : ["AND (to_peer = ? OR from_peer = ?)", [peer, peer]]

export const AsksLive = Layer.effect(
  Asks,
  Effect.gen(function*() {
    const db = yield* Database

    const getNow = (correlationId: string) =>
      Either.fromOption(
        db.now.one(AskRow, "SELECT * FROM asks WHERE correlation_id = ?", [correlationId]),
        () => new AskNotFound({ message: `no ask ${correlationId}` })
      )
    const get = (correlationId: string) => Effect.suspend(() => getNow(correlationId))

    const markDeliveredNow = (correlationId: string) => {
      db.now.run("UPDATE asks SET state = 'delivered' WHERE correlation_id = ? AND state = 'queued'", [correlationId])
    }

    const failNow = (correlationId: string, reason: string) =>
      db.now.run(
        "UPDATE asks SET state = 'failed', failure = ? WHERE correlation_id = ? AND state IN ('queued', 'delivered')",
        [reason, correlationId]
      ).changes === 1

    const ack = Effect.fnUntraced(function*(
      correlationId: string,
      reply: string | null,
      attachments: ReadonlyArray<AttachmentRef>
    ) {
      const ask = yield* get(correlationId)
      if (ask.state === "acked") {
        return yield* new AlreadyAcked({ message: `${correlationId} was already acked at ${ask.acked_at}` })
      }
      if (ask.state === "failed") {
        return yield* new AlreadyAcked({ message: `${correlationId} failed and is closed: ${ask.failure}` })
      }
      const now = yield* Clock.currentTimeMillis
      const row = yield* db.one(
        MessageId,
        `UPDATE asks SET state = 'acked', reply = ?, reply_attachments = ?, acked_at = ?
         WHERE correlation_id = ? RETURNING message_id`,
        [reply, JSON.stringify(attachments), now, correlationId]
      )
      const messageId = Option.getOrThrow(row).message_id
      return { ask: yield* Effect.orDie(get(correlationId)), messageId }
    })

    const list = (query: AskQuery) => {
      const [byPeer, params] = peerFilter(query.peer, query.direction)
      return db.all(
        AskRow,
        `SELECT * FROM asks WHERE 1 = 1 ${byPeer} ${query.open === true ? "AND state NOT IN ('acked', 'failed')" : ""}
         ORDER BY created_at DESC, rowid DESC LIMIT ?`,
        [...params, query.limit ?? 200]
      )
    }

    const createNow: Asks["Type"]["createNow"] = (ask) => {
      db.now.run(
        `INSERT INTO asks (correlation_id, message_id, from_peer, from_name, to_peer, to_name, circle, text,
           reply_to, attachments, state, reply, reply_attachments, created_at, acked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', NULL, '[]', ?, NULL)`,
        [
          ask.correlation_id,
          ask.message_id,
          ask.from_peer,
          ask.from_name,
          ask.to_peer,
          ask.to_name,
          ask.circle,
          ask.text,
          ask.reply_to,
          JSON.stringify(ask.attachments),
          Date.parse(ask.created_at)
        ]
      )
    }

    return Asks.of({
      createNow,
      get,
      getNow,
      markDeliveredNow,
      failNow,
      ack,
      list
    })
  })
)
