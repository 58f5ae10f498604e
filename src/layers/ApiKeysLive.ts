import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Redacted } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { type ApiKeyRecord, ApiKeys } from "../services/ApiKeys.js"

export const KEY_PATTERN = /^rw_[A-Za-z0-9_-]{43}$/

const digestOf = (key: string) => createHash("sha256").update(key).digest("hex")
const newKey = () => `rw_${randomBytes(32).toString("base64url")}`

interface Row extends ApiKeyRecord {
  readonly digest: string
}

const toRecord = ({ digest: _, ...record }: Row): ApiKeyRecord => record

export const ApiKeysLive = Layer.effect(
  ApiKeys,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = Effect.fn("ApiKeys.create")(function*(userId: string, label?: string) {
      const key = newKey()
      const now = new Date().toISOString()
      const record: ApiKeyRecord = {
        key_id: `k_${randomBytes(6).toString("hex")}`,
        user_id: userId,
        label: label ?? null,
        created_at: now,
        revoked_at: null
      }
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO users ${
          sql.insert({ user_id: userId, created_at: now })
        } ON CONFLICT (user_id) DO NOTHING`
        yield* sql`INSERT INTO api_keys ${sql.insert({ ...record, digest: digestOf(key) })}`
      }))
      return { key: Redacted.make(key), record }
    }, Effect.orDie)

    const register = Effect.fn("ApiKeys.register")(function*(label?: string) {
      return yield* create(`u_${randomBytes(9).toString("base64url")}`, label)
    })

    const verify = Effect.fn("ApiKeys.verify")(function*(key: Redacted.Redacted<string>) {
      const value = Redacted.value(key)
      if (!KEY_PATTERN.test(value)) return Option.none()
      const digest = digestOf(value)
      const rows = yield* sql<Row>`SELECT * FROM api_keys WHERE digest = ${digest} AND revoked_at IS NULL`
      const row = rows[0]
      if (row === undefined) return Option.none()
      const same = timingSafeEqual(Buffer.from(row.digest, "hex"), Buffer.from(digest, "hex"))
      return same ? Option.some(toRecord(row)) : Option.none()
    }, Effect.orDie)

    const list = sql<Row>`SELECT * FROM api_keys ORDER BY created_at`.pipe(
      Effect.map((rows) => rows.map(toRecord)),
      Effect.orDie,
      Effect.withSpan("ApiKeys.list")
    )

    const revoke = Effect.fn("ApiKeys.revoke")(function*(keyIdOrUser: string) {
      const rows = yield* sql<{ key_id: string }>`
        UPDATE api_keys SET revoked_at = ${new Date().toISOString()}
        WHERE revoked_at IS NULL AND (key_id = ${keyIdOrUser} OR user_id = ${keyIdOrUser})
        RETURNING key_id`
      return rows.map((r) => r.key_id)
    }, Effect.orDie)

    return ApiKeys.of({ create, register, verify, list, revoke })
  })
)
