import { Duration, Effect, Option, Redacted } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { ApiKeys } from "../../services/ApiKeys.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { RelaySessions } from "../../services/RelaySessions.js"
import { auditAuth, auditLogout, auditSessionCreated } from "./AuditHooks.js"
import { htmlResponse, landingPage, pickerPage } from "./Pages.js"
import { readBody, type RelayContext } from "./RelayContext.js"

const redirect = (res: ServerResponse, location: string, headers: Record<string, string | Array<string>> = {}) => {
  res.writeHead(303, { location, "cache-control": "no-store", ...headers })
  res.end()
}

const formField = (body: string, name: string): string | undefined => {
  const value = new URLSearchParams(body).get(name)
  return value === null ? undefined : value.trim()
}

/** `GET /`: the key form, the daemon picker, or straight to the dashboard. */
export const landing = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const tls = ctx.options.tls !== undefined
  const current = await ctx.session(req)
  if (current === undefined) return htmlResponse(res, 200, landingPage(), tls)
  const daemons = await ctx.run(Effect.flatMap(RelayRouter, (r) => r.daemons(current.session.user_id)))
  const chosen = daemons.find((d) => d.daemon_id === current.session.daemon_id && d.connected)
  if (chosen !== undefined) return redirect(res, "/dashboard")
  const error = daemons.some((d) => d.connected) ? undefined : "No daemon is connected for this key right now."
  return htmlResponse(res, 200, pickerPage(daemons, error), tls)
}

/** `POST /auth` (form field `key`): a session cookie holding a random id, never the key. */
export const auth = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const tls = ctx.options.tls !== undefined
  if (!ctx.sameOrigin(req)) {
    return htmlResponse(res, 403, landingPage("This form must be sent from the relay's own page."), tls)
  }
  const allowed = ctx.authLimiter.take(ctx.clientIp(req))
  if (allowed !== true) {
    return htmlResponse(res, 429, landingPage("Too many attempts. Wait a minute and try again."), tls, {
      "retry-after": String(allowed)
    })
  }
  const body = await readBody(req, res, 4096)
  if (body._tag === "TooLarge") return htmlResponse(res, 413, landingPage("That form is too large."), tls)
  const key = body._tag === "Read" ? formField(body.text, "key") : undefined
  if (key === undefined || key === "") return htmlResponse(res, 400, landingPage("Enter your relay key."), tls)
  const record = await ctx.run(Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key))))
  auditAuth(ctx, req, "browser", record)
  if (Option.isNone(record)) return htmlResponse(res, 401, landingPage("That key is not valid."), tls)
  const { key_id, user_id } = record.value
  const daemons = await ctx.run(Effect.flatMap(RelayRouter, (r) => r.daemons(user_id)))
  const connected = daemons.filter((d) => d.connected)
  if (connected.length === 0) {
    return htmlResponse(res, 409, landingPage("Your key is valid, but no daemon is connected with it right now."), tls)
  }
  const created = await ctx.run(Effect.gen(function*() {
    const sessions = yield* RelaySessions
    const session = yield* sessions.create(user_id, key_id, Duration.millis(ctx.options.sessionTtlMs))
    if (connected.length === 1) yield* sessions.choose(Redacted.value(session.id), connected[0]!.daemon_id)
    return session
  }))
  auditSessionCreated(ctx, req, record.value, connected.length === 1 ? connected[0]!.daemon_id : undefined)
  return redirect(res, connected.length === 1 ? "/dashboard" : "/", {
    "set-cookie": ctx.cookie(Redacted.value(created.id))
  })
}

/** `POST /select` (form field `daemon_id`): a user with several daemons picks one of their own. */
export const select = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  const tls = ctx.options.tls !== undefined
  const current = await ctx.session(req)
  if (current === undefined || !ctx.sameOrigin(req)) return redirect(res, "/")
  const body = await readBody(req, res, 4096)
  if (body._tag === "TooLarge") return htmlResponse(res, 413, pickerPage([], "That form is too large."), tls)
  const daemonId = body._tag === "Read" ? formField(body.text, "daemon_id") : undefined
  const daemons = await ctx.run(Effect.flatMap(RelayRouter, (r) => r.daemons(current.session.user_id)))
  const target = daemons.find((d) => d.daemon_id === daemonId && d.connected)
  if (target === undefined) return htmlResponse(res, 409, pickerPage(daemons, "That daemon is not connected."), tls)
  await ctx.run(Effect.flatMap(RelaySessions, (s) => s.choose(current.id, target.daemon_id)))
  return redirect(res, "/dashboard")
}

/** `POST /logout`: the session ends at the relay, the cookie is cleared. */
export const logout = async (ctx: RelayContext, req: IncomingMessage, res: ServerResponse) => {
  if (!ctx.sameOrigin(req)) return redirect(res, "/")
  const id = ctx.sessionId(req)
  await auditLogout(ctx, req)
  if (id !== undefined) await ctx.run(Effect.flatMap(RelaySessions, (s) => s.remove(id)))
  return redirect(res, "/", { "set-cookie": ctx.clearCookie() })
}
