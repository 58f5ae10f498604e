import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted, Schema } from "effect"
import { AuditKeyInfo, AuditPage, AuditQuery } from "../../protocol/Audit.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { Audit } from "../../services/Audit.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { COOKIE } from "./RelayContext.js"

const headers = { "cache-control": "no-store", "x-content-type-options": "nosniff" }

const failure = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status, headers })

/** The user behind a session cookie or a daemon's key (Authorization: Bearer); none otherwise. */
const caller = Effect.gen(function*() {
  const req = yield* HttpServerRequest.HttpServerRequest
  const session = req.cookies[COOKIE]
  if (session !== undefined) {
    const found = yield* Effect.flatMap(RelaySessions, (s) => s.get(session))
    if (Option.isSome(found)) return Option.some(found.value.user_id)
  }
  const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1]
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
  if (Option.isNone(user)) return failure(401, "unauthorized", "Sign in, or send your relay key as a Bearer token.")
  const query = yield* HttpServerRequest.schemaSearchParams(AuditQuery).pipe(Effect.option)
  if (Option.isNone(query)) {
    return failure(400, "invalid_request", "since must be a seq (0 or more), limit 1 to 1000.")
  }
  const audit = yield* Audit
  const page = yield* audit.page(user.value, query.value.since, query.value.limit)
  return HttpServerResponse.unsafeJson(yield* encodePage(page).pipe(Effect.orDie), { headers })
})

const encodeKey = Schema.encodeSync(AuditKeyInfo)

/** `GET /_relay/audit/key`: the public key the relay's checkpoints are signed with. */
export const auditKey = Effect.map(
  Audit,
  (audit) =>
    audit.enabled
      ? HttpServerResponse.unsafeJson(encodeKey(audit.key), { headers })
      : failure(404, "not_found", "This relay keeps no audit log.")
)

/** Both routes, for a router to mount as they are. */
export const auditRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/_relay/audit", auditRead),
  HttpRouter.get("/_relay/audit/key", auditKey)
)
