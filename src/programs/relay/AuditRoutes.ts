import { HttpServerRequest } from "@effect/platform"
import { Effect, Option, Redacted, Schema } from "effect"
import { AuditKeyInfo, AuditPage, AuditQuery } from "../../protocol/Audit.js"
import { BadRequest, NotFound, Unauthorized } from "../../protocol/Errors.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { Audit } from "../../services/Audit.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { apiError, jsonAnswer } from "./Pages.js"
import { bearer, COOKIE } from "./RelayContext.js"

/** The user behind a session cookie or a daemon's key (Authorization: Bearer); none otherwise. */
const caller = Effect.gen(function*() {
  const req = yield* HttpServerRequest.HttpServerRequest
  const session = req.cookies[COOKIE]
  if (session !== undefined) {
    const found = yield* Effect.flatMap(RelaySessions, (s) => s.get(session))
    if (Option.isSome(found)) return Option.some(found.value.user_id)
  }
  const key = bearer(req.headers.authorization)
  if (key === undefined) return Option.none<string>()
  const record = yield* Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key)))
  if (Option.isNone(record)) {
    const audit = yield* Audit
    audit.record({
      kind: "auth_failed",
      user_id: null,
      detail: { via: "audit", client: Option.getOrElse(req.remoteAddress, () => "unknown") }
    })
  }
  return Option.map(record, (r) => r.user_id)
})

const encodePage = Schema.encode(AuditPage)

/** `GET /_relay/audit?since=SEQ&limit=N`: the caller's own chain and its checkpoints; 401 for anyone else. */
export const auditRead = Effect.gen(function*() {
  const user = yield* caller
  if (Option.isNone(user)) {
    return apiError(new Unauthorized({ message: "Sign in, or send your relay key as a Bearer token." }))
  }
  const query = yield* HttpServerRequest.schemaSearchParams(AuditQuery).pipe(Effect.option)
  if (Option.isNone(query)) {
    return apiError(new BadRequest({ message: "since must be a seq (0 or more), limit 1 to 1000." }))
  }
  const audit = yield* Audit
  const page = yield* audit.page(user.value, query.value.since, query.value.limit)
  return jsonAnswer(yield* encodePage(page).pipe(Effect.orDie))
})

const encodeKey = Schema.encodeSync(AuditKeyInfo)

/** `GET /_relay/audit/key`: the public key the relay's checkpoints are signed with. */
export const auditKey = Effect.map(
  Audit,
  (audit) =>
    audit.enabled
      ? jsonAnswer(encodeKey(audit.key))
      : apiError(new NotFound({ message: "This relay keeps no audit log." }))
)
