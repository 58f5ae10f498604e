import { Effect, Either, Option, Redacted, Schema } from "effect"
import { parseJsonWithin } from "../../protocol/BoundedJson.js"
import {
  BadRequest,
  Forbidden,
  PayloadTooLarge,
  RateLimited,
  Unauthorized,
  Unavailable
} from "../../protocol/Errors.js"
import { type KeyIssued, RegisterRequest, type RelayHealth } from "../../protocol/RelayApi.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { auditAuth, auditRegistration, auditRotation } from "./AuditHooks.js"
import { apiError, jsonAnswer } from "./Pages.js"
import { bearer, Relay, requestHead } from "./RelayContext.js"
import { readSmallBody } from "./SmallBody.js"

// Nesting is bounded before Schema sees the value: a message about a 3,000-deep value overflows the stack.
const decodeRegister = Schema.decodeUnknownEither(parseJsonWithin(RegisterRequest))

const KEY_CREATED = 201

/** `GET /_relay/health` (and `/health` without a session): counts only, no per-user data. */
export const health = Effect.gen(function*() {
  const relay = yield* Relay
  const counts = yield* Effect.flatMap(RelayRouter, (r) => r.counts)
  const body: RelayHealth = {
    ok: !relay.draining,
    version: relay.options.version,
    uptime_s: Math.round((Date.now() - relay.startedAt) / 1000),
    tunnels: counts.tunnels,
    streams: counts.streams,
    queued_bytes: counts.queuedBytes,
    draining: relay.draining
  }
  return jsonAnswer(body, relay.draining ? Unavailable.status : undefined)
})

/** `POST /api/register`: a new user and a fresh key. It never returns an existing user's key. */
export const register = Effect.gen(function*() {
  const relay = yield* Relay
  if (!relay.options.registration) {
    return apiError(new Forbidden({ message: "Registration is closed on this relay; ask its operator for a key." }))
  }
  const allowed = yield* relay.limits.take("register", relay.clientIp(yield* requestHead))
  if (allowed !== true) {
    return apiError(new RateLimited({ message: "Too many registrations; retry later." }), {
      "retry-after": String(allowed)
    })
  }
  const body = yield* readSmallBody(4096)
  if (body._tag === "TooLarge") {
    return apiError(new PayloadTooLarge({ message: "The body is larger than 4 KiB." }), { connection: "close" })
  }
  if (body._tag === "Aborted") return apiError(new BadRequest({ message: "The body did not arrive whole." }))
  const decoded = decodeRegister(body.text === "" ? "{}" : body.text)
  if (Either.isLeft(decoded)) return apiError(new BadRequest({ message: "Body must be JSON {label?: string}." }))
  const minted = yield* Effect.flatMap(ApiKeys, (k) => k.register(decoded.right.label))
  auditRegistration(relay, yield* requestHead, minted.record)
  const issued: KeyIssued = {
    user_id: minted.record.user_id,
    key_id: minted.record.key_id,
    api_key: Redacted.value(minted.key)
  }
  return jsonAnswer(issued, KEY_CREATED)
})

/**
 * `POST /api/rotate` with the current key: a new key for the same user, the old one revoked,
 * its sessions and tunnels ended.
 */
export const rotate = Effect.gen(function*() {
  const relay = yield* Relay
  const head = yield* requestHead
  const allowed = yield* relay.limits.take("auth", relay.clientIp(head))
  if (allowed !== true) {
    return apiError(new RateLimited({ message: "Too many attempts; retry later." }), { "retry-after": String(allowed) })
  }
  const presented = bearer(head.headers.authorization)
  if (presented === undefined) {
    return apiError(new Unauthorized({ message: "Send the current key as Authorization: Bearer." }))
  }
  const keys = yield* ApiKeys
  const old = yield* keys.verify(Redacted.make(presented))
  if (Option.isNone(old)) {
    auditAuth(relay, head, "rotate", old)
    return apiError(new Unauthorized({ message: "That key is not valid." }))
  }
  const minted = yield* keys.create(old.value.user_id, old.value.label ?? undefined)
  yield* keys.revoke(old.value.key_id)
  yield* Effect.flatMap(RelaySessions, (s) => s.removeByKey(old.value.key_id))
  const router = yield* RelayRouter
  // The request's scope closes once the answer is out: the caller's own tunnel used the old key,
  // so it reconnects with the new one.
  yield* Effect.addFinalizer(() => router.closeKey(old.value.key_id, "key rotated"))
  const issued: KeyIssued = {
    user_id: minted.record.user_id,
    key_id: minted.record.key_id,
    api_key: Redacted.value(minted.key),
    revoked_key_id: old.value.key_id
  }
  auditRotation(relay, head, issued)
  return jsonAnswer(issued)
})
