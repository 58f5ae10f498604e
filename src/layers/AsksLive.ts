import { SqlClient, SqlSchema } from "@effect/sql"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import { AlreadyAcked, AskNotFound } from "../protocol/Errors.js"
import { Asks, type AskQuery } from "../services/Asks.js"
import { AskRow } from "./MessageRows.js"

export const AsksLive = Layer.effect(
  Asks,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const byId = SqlSchema.findOne({
      Request: Schema.String,
      Result: AskRow,
      execute: (id) => sql`SELECT * FROM asks WHERE correlation_id = ${id}`
    })
    const rows = SqlSchema.findAll({
      Request: Schema.Struct({
        peer: Schema.NullOr(Schema.String),
        direction: Schema.NullOr(Schema.String),
        open: Schema.Boolean,
        limit: Schema.Number
      }),
      Result: AskRow,
      execute: ({ direction, limit, open, peer }) =>
        sql`SELECT * FROM asks WHERE 1 = 1
          ${peer === null ? sql`` : direction === "inbound"
          ? sql`AND to_peer = ${peer}`
          : direction === "outbound"
          ? sql`AND from_peer = ${peer}`
          : sql`AND (to_peer = ${peer} OR from_peer = ${peer})`}
          ${open ? sql`AND state != 'acked'` : sql``}
          ORDER BY created_at DESC, rowid DESC LIMIT ${limit}`
    })

    const get = (correlationId: string) =>
      byId(correlationId).pipe(
        Effect.orDie,
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new AskNotFound({ message: `no ask ${correlationId}` })),
          onSome: Effect.succeed
        }))
      )

    const ack = Effect.fn("Asks.ack")(function*(
      correlationId: string,
      reply: string | null,
      attachments: ReadonlyArray<AttachmentRef>
    ) {
      const ask = yield* get(correlationId)
      if (ask.state === "acked") {
        return yield* new AlreadyAcked({ message: `${correlationId} was already acked at ${ask.acked_at}` })
      }
      const now = yield* Clock.currentTimeMillis
      const [row] = yield* sql<{ message_id: string }>`UPDATE asks SET state = 'acked', reply = ${reply},
        reply_attachments = ${JSON.stringify(attachments)}, acked_at = ${now}
        WHERE correlation_id = ${correlationId} RETURNING message_id`.pipe(Effect.orDie)
      return { ask: yield* Effect.orDie(get(correlationId)), messageId: row!.message_id }
    })

    return Asks.of({
      create: (ask) =>
        sql`INSERT INTO asks ${
          sql.insert({
            ...ask,
            attachments: JSON.stringify(ask.attachments),
            created_at: Date.parse(ask.created_at),
            state: "queued",
            reply: null,
            reply_attachments: "[]",
            acked_at: null
          })
        }`.pipe(Effect.orDie, Effect.asVoid),
      get,
      markDelivered: (messageId) =>
        sql`UPDATE asks SET state = 'delivered' WHERE message_id = ${messageId} AND state = 'queued'`.pipe(
          Effect.orDie,
          Effect.asVoid
        ),
      ack,
      list: (query: AskQuery) =>
        rows({
          peer: query.peer ?? null,
          direction: query.direction ?? null,
          open: query.open ?? false,
          limit: query.limit ?? 200
        }).pipe(Effect.orDie)
    })
  })
)
