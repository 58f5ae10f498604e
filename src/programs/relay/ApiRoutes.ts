import { Effect, Either, Option, Redacted, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { parseJsonWithin } from "../../protocol/BoundedJson.js"
import { type KeyIssued, RegisterRequest } from "../../protocol/RelayApi.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { auditAuth, auditRegistration, auditRotation } from "./AuditHooks.js"
import { errorPage, jsonResponse } from "./Pages.js"
import { readBody, type RelayContext } from "./RelayContext.js"

// Nesting is bounded before Schema sees the value: a message about a 3,000-deep value overflows the stack.
const decodeRegister = Schema.decodeUnknownEither(parseJsonWithin(RegisterRequest))

export const bearer = (req: IncomingMessage): string | undefined => {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")
  return match?.[1]
}

/** `POST /api/register`: a new user and a fresh key. It never returns an existing user's key. */
export const register = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  if (!ctx.options.registration) {
    return errorPage(res, 403, "Registration is closed on this relay; ask its operator for a key.")
  }
  const allowed = ctx.registerLimiter.take(ctx.clientIp(req))
  if (allowed !== true) {
    return errorPage(res, 429, "Too many registrations; retry later.", { "retry-after": String(allowed) })
  }
  const body = await readBody(req, res, 4096)
  if (body._tag === "TooLarge") return errorPage(res, 413, "The body is larger than 4 KiB.")
  if (body._tag === "Aborted") return errorPage(res, 400, "The body did not arrive whole.")
  const decoded = decodeRegister(body.text === "" ? "{}" : body.text)
  if (Either.isLeft(decoded)) return errorPage(res, 400, "Body must be JSON {label?: string}.")
  const minted = await ctx.run(Effect.flatMap(ApiKeys, (k) => k.register(decoded.right.label)))
  auditRegistration(ctx, req, minted.record)
  const issued: KeyIssued = {
    user_id: minted.record.user_id,
    key_id: minted.record.key_id,
    api_key: Redacted.value(minted.key)
  }
  return jsonResponse(res, 201, issued)
}

/**
 * `POST /api/rotate` with the current key: a new key for the same user, the old one revoked,
 * its sessions and tunnels ended.
 */
export const rotate = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const allowed = ctx.authLimiter.take(ctx.clientIp(req))
  if (allowed !== true) {
    return errorPage(res, 429, "Too many attempts; retry later.", { "retry-after": String(allowed) })
  }
  req.resume()
  const presented = bearer(req)
  if (presented === undefined) return errorPage(res, 401, "Send the current key as Authorization: Bearer.")
  const issued = await ctx.run(Effect.gen(function*() {
    const keys = yield* ApiKeys
    const old = yield* keys.verify(Redacted.make(presented))
    if (Option.isNone(old)) return undefined
    const minted = yield* keys.create(old.value.user_id, old.value.label ?? undefined)
    yield* keys.revoke(old.value.key_id)
    yield* Effect.flatMap(RelaySessions, (s) => s.removeByKey(old.value.key_id))
    const result: KeyIssued = {
      user_id: minted.record.user_id,
      key_id: minted.record.key_id,
      api_key: Redacted.value(minted.key),
      revoked_key_id: old.value.key_id
    }
    return { result, oldKeyId: old.value.key_id }
  }))
  if (issued === undefined) auditAuth(ctx, req, "rotate", Option.none())
  if (issued === undefined) return errorPage(res, 401, "That key is not valid.")
  auditRotation(ctx, req, issued.result)
  jsonResponse(res, 200, issued.result)
  // After the answer is out: the caller's own tunnel used the old key, so it reconnects with the new one.
  res.on("finish", () => void ctx.run(Effect.flatMap(RelayRouter, (r) => r.closeKey(issued.oldKeyId, "key rotated"))))
}
