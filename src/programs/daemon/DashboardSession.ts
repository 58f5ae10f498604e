import type { HttpServerRequest } from "@effect/platform"
import { type Context, Redacted } from "effect"
import * as crypto from "node:crypto"
import type { Config } from "../../services/Config.js"

/** The HttpOnly cookie the daemon sets after a local login when `daemon.auth_token` is set. */
export const SESSION_COOKIE = "repowire_dashboard"
export const SESSION_MAX_AGE_S = 30 * 24 * 3600

const LABEL = "repowire dashboard session v1"

/** The cookie value: an HMAC of a fixed label keyed by the token, so it changes when the token does. */
export const sessionCookieValue = (token: Redacted.Redacted<string>): string =>
  crypto.createHmac("sha256", Redacted.value(token)).update(LABEL).digest("base64url")

export const constantTimeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  // Compare against itself on a length mismatch so the time does not depend on where they differ.
  return x.length === y.length ? crypto.timingSafeEqual(x, y) : (crypto.timingSafeEqual(x, x), false)
}

/**
 * Whether a request carries the dashboard session cookie for the configured auth token.
 * False when no token is configured (there is no session to prove): the guard only asks
 * when `daemon.auth_token` is set, and accepts the cookie in place of the Bearer header.
 */
export const dashboardSessionValid = (
  request: HttpServerRequest.HttpServerRequest,
  config: Context.Tag.Service<typeof Config>
): boolean => {
  if (config.authToken === undefined) return false
  const cookie = request.cookies[SESSION_COOKIE]
  if (cookie === undefined || cookie === "") return false
  return constantTimeEqual(cookie, sessionCookieValue(config.authToken))
}

/** Whether a submitted login token is the configured one. */
export const loginTokenValid = (submitted: string, config: Context.Tag.Service<typeof Config>): boolean =>
  config.authToken !== undefined && constantTimeEqual(submitted, Redacted.value(config.authToken))
