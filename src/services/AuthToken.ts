import { Context } from "effect"

/** What a presented secret proves. `limited`: too many wrong ones from this client lately. */
export type TokenCheck = "ok" | "missing" | "wrong" | "limited"

/** A browser session of the dashboard: the cookie's random id, and how long it lives. */
export interface DashboardSession {
  readonly id: string
  readonly maxAgeS: number
}

/**
 * The one gate for the daemon's local secrets: its auth token (Bearer header, /ws connect
 * frame, /mcp, the dashboard's login form), the dashboard's browser sessions, and the local
 * human credential that lets the CLI register as a human. Every check is synchronous: the
 * guard runs it on the agents' fast path too.
 */
export class AuthToken extends Context.Tag("repowire/AuthToken")<AuthToken, {
  /** Whether `daemon.auth_token` is set, so every client must present it. */
  readonly required: boolean
  /** Checks a presented auth token; wrong tokens are rate limited per client address. */
  readonly check: (presented: string | undefined, client: string) => TokenCheck
  /** Opens a dashboard session (the page's credential), ending `previous` (rotation). */
  readonly openSession: (previous: string | undefined) => DashboardSession
  /** Whether a session id is open and unexpired. */
  readonly sessionValid: (id: string | undefined) => boolean
  /** Ends one session (logout). */
  readonly endSession: (id: string | undefined) => void
  /**
   * Whether a request may act as a human: the daemon's auth token, or the local human
   * credential (`$REPOWIRE_HOME/human.token`, readable only by the daemon's user).
   */
  readonly humanCredentialValid: (presented: string | undefined) => boolean
}>() {}

/** The dashboard's session cookie; the port keeps two daemons' cookies apart on one host. */
export const sessionCookieName = (port: number) => `repowire_session_${port}`

export const bearerOf = (header: string | undefined): string | undefined =>
  header === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim()
