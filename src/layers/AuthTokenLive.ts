import { Effect, Layer, Redacted } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { HUMAN_CREDENTIAL_FILE } from "../protocol/HomeFiles.js"
import { AuthToken, type DashboardSession, type TokenCheck } from "../services/AuthToken.js"
import { Config } from "../services/Config.js"
import { secretsEqual } from "./Digest.js"

/** Wrong tokens a client may present per window before it is refused unchecked. */
const FAILURES_PER_WINDOW = 20
const WINDOW_MS = 60_000
const SESSION_TTL_S = 12 * 3600
const MAX_SESSIONS = 256
const MAX_TRACKED_CLIENTS = 1024

export const humanCredentialFile = (home: string) => path.join(home, HUMAN_CREDENTIAL_FILE)

/** The local human credential: made once (0600, never rewritten), read by the CLI. */
export const ensureHumanCredential = (home: string): string => {
  const file = humanCredentialFile(home)
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
  }
  return fs.readFileSync(file, "utf8").trim()
}

export interface AuthTokenOptions {
  readonly token: string | undefined
  readonly humanCredential: string
  readonly now?: () => number
}

export const makeAuthToken = (options: AuthTokenOptions): AuthToken["Type"] => {
  const now = options.now ?? Date.now
  const failures = new Map<string, { count: number; since: number }>()
  const sessions = new Map<string, number>()

  const recordFailure = (client: string, at: number) => {
    const entry = failures.get(client)
    if (entry === undefined || at - entry.since > WINDOW_MS) {
      if (failures.size >= MAX_TRACKED_CLIENTS) failures.delete(failures.keys().next().value!)
      failures.set(client, { count: 1, since: at })
    } else {
      entry.count++
    }
  }
  const limited = (client: string, at: number) => {
    const entry = failures.get(client)
    return entry !== undefined && at - entry.since <= WINDOW_MS && entry.count >= FAILURES_PER_WINDOW
  }

  const check = (presented: string | undefined, client: string): TokenCheck => {
    if (options.token === undefined) return "ok"
    if (presented === undefined || presented === "") return "missing"
    const at = now()
    // Refused unchecked: guessing goes no faster than the budget, whatever the client sends.
    if (limited(client, at)) return "limited"
    if (secretsEqual(presented, options.token)) return "ok"
    recordFailure(client, at)
    return "wrong"
  }

  const sessionValid = (id: string | undefined) => {
    if (id === undefined || id === "") return false
    const expires = sessions.get(id)
    if (expires === undefined) return false
    if (expires > now()) return true
    sessions.delete(id)
    return false
  }

  const openSession = (previous: string | undefined): DashboardSession => {
    if (previous !== undefined) sessions.delete(previous)
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!)
    const id = crypto.randomBytes(32).toString("base64url")
    sessions.set(id, now() + SESSION_TTL_S * 1000)
    return { id, maxAgeS: SESSION_TTL_S }
  }

  return {
    required: options.token !== undefined,
    check,
    openSession,
    sessionValid,
    endSession: (id) => void (id === undefined || sessions.delete(id)),
    humanCredentialValid: (presented) =>
      presented !== undefined && presented !== "" &&
      (secretsEqual(presented, options.humanCredential) ||
        (options.token !== undefined && secretsEqual(presented, options.token)))
  }
}

/** The daemon's gate: its configured auth token and the human credential under its home. */
export const AuthTokenLive = Layer.effect(
  AuthToken,
  Effect.gen(function*() {
    const config = yield* Config
    const humanCredential = yield* Effect.sync(() => ensureHumanCredential(config.paths.home))
    return makeAuthToken({
      token: config.authToken === undefined ? undefined : Redacted.value(config.authToken),
      humanCredential
    })
  })
)

/** A gate with fixed secrets, for tests and programs that have no home on disk. */
export const AuthTokenMemory = (options: AuthTokenOptions) => Layer.succeed(AuthToken, makeAuthToken(options))
