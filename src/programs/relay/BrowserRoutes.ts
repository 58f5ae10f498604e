import { Duration, Effect, Option, Redacted } from "effect"
import { BadRequest, Conflict, Forbidden, PayloadTooLarge, RateLimited, Unauthorized } from "../../protocol/Errors.js"
import { ApiKeys } from "../../services/ApiKeys.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { auditAuth, auditLogout, auditSessionCreated, auditSessionEnded } from "./AuditHooks.js"
import { htmlPage, landingPage, pageError, pickerPage, seeOther } from "./Pages.js"
import { Relay, requestHead } from "./RelayContext.js"
import { formField, readSmallBody } from "./SmallBody.js"

const FORM_LIMIT = 4096

const tooLarge = new PayloadTooLarge({ message: "That form is too large." })
// The rest of an oversized form is never read: the connection closes after the answer.
const closing = { connection: "close" }

/** `GET /`: the key form, the daemon picker, or straight to the dashboard. */
export const landing = Effect.gen(function*() {
  const relay = yield* Relay
  const tls = relay.options.tls !== undefined
  const current = yield* relay.session(yield* requestHead)
  if (current === undefined) return htmlPage(landingPage(), tls)
  const daemons = yield* Effect.flatMap(RelayRouter, (r) => r.daemons(current.session.user_id))
  const chosen = daemons.find((d) => d.daemon_id === current.session.daemon_id && d.connected)
  if (chosen !== undefined) return seeOther("/dashboard")
  const error = daemons.some((d) => d.connected) ? undefined : "No daemon is connected for this key right now."
  return htmlPage(pickerPage(daemons, error), tls)
})

/** `POST /auth` (form field `key`): a session cookie holding a random id, never the key. */
export const auth = Effect.gen(function*() {
  const relay = yield* Relay
  const head = yield* requestHead
  const tls = relay.options.tls !== undefined
  const refuse = (error: Parameters<typeof pageError>[0], extra?: Record<string, string>) =>
    pageError(error, landingPage, tls, extra)
  if (!relay.sameOrigin(head)) {
    return refuse(new Forbidden({ message: "This form must be sent from the relay's own page." }))
  }
  const allowed = yield* relay.limits.take("auth", relay.clientIp(head))
  if (allowed !== true) {
    return refuse(new RateLimited({ message: "Too many attempts. Wait a minute and try again." }), {
      "retry-after": String(allowed)
    })
  }
  const body = yield* readSmallBody(FORM_LIMIT)
  if (body._tag === "TooLarge") return refuse(tooLarge, closing)
  const key = body._tag === "Read" ? formField(body.text, "key") : undefined
  if (key === undefined || key === "") return refuse(new BadRequest({ message: "Enter your relay key." }))
  const record = yield* Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key)))
  auditAuth(relay, head, "browser", record)
  if (Option.isNone(record)) return refuse(new Unauthorized({ message: "That key is not valid." }))
  const { key_id, user_id } = record.value
  const daemons = yield* Effect.flatMap(RelayRouter, (r) => r.daemons(user_id))
  const connected = daemons.filter((d) => d.connected)
  if (connected.length === 0) {
    return refuse(new Conflict({ message: "Your key is valid, but no daemon is connected with it right now." }))
  }
  const sessions = yield* RelaySessions
  // Signing in again from a browser that holds a session replaces it: its cookie is overwritten below.
  const previous = yield* relay.session(head)
  const created = yield* sessions.create(user_id, key_id, Duration.millis(relay.options.sessionTtlMs))
  if (connected.length === 1) yield* sessions.choose(Redacted.value(created.id), connected[0]!.daemon_id)
  if (previous !== undefined) {
    yield* sessions.remove(previous.id)
    auditSessionEnded(relay, head, previous.session, "replaced")
  }
  auditSessionCreated(relay, head, record.value, connected.length === 1 ? connected[0]!.daemon_id : undefined)
  return seeOther(connected.length === 1 ? "/dashboard" : "/", {
    "set-cookie": relay.cookie(Redacted.value(created.id))
  })
})

/** `POST /select` (form field `daemon_id`): a user with several daemons picks one of their own. */
export const select = Effect.gen(function*() {
  const relay = yield* Relay
  const head = yield* requestHead
  const tls = relay.options.tls !== undefined
  const current = yield* relay.session(head)
  if (current === undefined || !relay.sameOrigin(head)) return seeOther("/")
  const body = yield* readSmallBody(FORM_LIMIT)
  if (body._tag === "TooLarge") return pageError(tooLarge, (m) => pickerPage([], m), tls, closing)
  const daemonId = body._tag === "Read" ? formField(body.text, "daemon_id") : undefined
  const daemons = yield* Effect.flatMap(RelayRouter, (r) => r.daemons(current.session.user_id))
  const target = daemons.find((d) => d.daemon_id === daemonId && d.connected)
  if (target === undefined) {
    return pageError(new Conflict({ message: "That daemon is not connected." }), (m) => pickerPage(daemons, m), tls)
  }
  yield* Effect.flatMap(RelaySessions, (s) => s.choose(current.id, target.daemon_id))
  return seeOther("/dashboard")
})

/** `POST /logout`: the session ends at the relay, the cookie is cleared. */
export const logout = Effect.gen(function*() {
  const relay = yield* Relay
  const head = yield* requestHead
  if (!relay.sameOrigin(head)) return seeOther("/")
  const id = relay.sessionId(head)
  yield* auditLogout(relay, head)
  if (id !== undefined) yield* Effect.flatMap(RelaySessions, (s) => s.remove(id))
  return seeOther("/", { "set-cookie": relay.clearCookie() })
})
