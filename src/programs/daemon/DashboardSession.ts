import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { type AuthToken, sessionCookieName } from "../../services/AuthToken.js"

/** The port a local request came to, from its Host (which the guard has checked is this daemon's). */
const portOf = (request: HttpServerRequest.HttpServerRequest) => Number(request.headers["host"]?.split(":").pop() ?? 0)

/** The dashboard session id a request carries: its cookie for this daemon's port. */
export const sessionIdOf = (request: HttpServerRequest.HttpServerRequest): string | undefined =>
  request.cookies[sessionCookieName(portOf(request))]

/** Whether a request carries an open dashboard session: the page's credential, never a header a client writes. */
export const hasDashboardSession = (auth: AuthToken["Type"], request: HttpServerRequest.HttpServerRequest) =>
  auth.sessionValid(sessionIdOf(request))

/**
 * Sets a fresh session cookie on `response`, ending the one the request carried (rotation).
 * HttpOnly and SameSite=Strict; Path=/ because the page's API calls are relative to the root.
 * A loopback origin cannot be narrower: cookies ignore ports, so the name carries the port.
 */
export const withNewSession = (
  auth: AuthToken["Type"],
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
) => {
  const session = auth.openSession(sessionIdOf(request))
  return HttpServerResponse.setCookie(response, sessionCookieName(portOf(request)), session.id, {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    maxAge: `${session.maxAgeS} seconds`
  }).pipe(Effect.orDie)
}

/** Ends the request's session and clears its cookie. */
export const withoutSession = (
  auth: AuthToken["Type"],
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
) => {
  auth.endSession(sessionIdOf(request))
  return HttpServerResponse.setCookie(response, sessionCookieName(portOf(request)), "", {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    maxAge: 0
  }).pipe(Effect.orDie)
}
