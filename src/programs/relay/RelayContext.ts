import { HttpServerRequest } from "@effect/platform"
import { Cause, Context, Effect, Exit, Fiber, Option, type Redacted, Runtime } from "effect"
import type { ApiKeys } from "../../services/ApiKeys.js"
import { Audit, type AuditLog } from "../../services/Audit.js"
import type { RateLimits } from "../../services/RateLimits.js"
import { RelayRouter } from "../../services/RelayRouter.js"
import { type RelaySession, RelaySessions } from "../../services/RelaySessions.js"
import { VERSION } from "../../Version.js"
import { ClientGate } from "./ClientGate.js"

export interface RelayOptions {
  readonly host: string
  readonly port: number
  /** PEM contents; when absent the relay speaks plain HTTP (behind a TLS proxy, or tests). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined
  /** Addresses of the TLS proxy whose X-Forwarded-* headers are trusted; empty = trust none. */
  readonly trustedProxies: ReadonlyArray<string>
  readonly sessionTtlMs: number
  readonly registration: boolean
  /** How long in-flight streams may finish after GOAWAY before they are cut (502). */
  readonly drainMs: number
  readonly authRate: { readonly max: number; readonly windowMs: number }
  /** A connection must have sent a request's whole head within this (and start one within it). */
  readonly headersTimeoutMs: number
  /** A request without a session must have sent its whole body within this. */
  readonly bodyTimeoutMs: number
  /** Connections (requests, behind a proxy) one client address may hold before it authenticates. */
  readonly maxUnauthenticatedPerClient: number
  /** A browser request whose daemon sends no response head within this gets 504 (streams already answering are exempt). */
  readonly responseTimeoutMs: number
  /** Tunnels one key may hold open at once (daemons of one person sharing a key). */
  readonly maxTunnelsPerKey: number
  /** Bytes one tunnel may hold for browsers that are not reading; past it the fullest stream is reset. */
  readonly tunnelBufferBytes: number
  /** Daemon ids not seen for this long are forgotten (lazily, when daemons come and go). */
  readonly daemonTtlMs: number
  /** Set when this relay is one of several replicas: the secret their internal hops are signed with. */
  readonly cluster?: { readonly secret: Redacted.Redacted<string> } | undefined
  readonly version: string
}

export const defaultRelayOptions: RelayOptions = {
  host: "0.0.0.0",
  port: 8443,
  trustedProxies: [],
  sessionTtlMs: 12 * 3600_000,
  registration: true,
  drainMs: 5_000,
  authRate: { max: 10, windowMs: 60_000 },
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  maxUnauthenticatedPerClient: 32,
  responseTimeoutMs: 15_000,
  maxTunnelsPerKey: 8,
  tunnelBufferBytes: 16 * 1024 * 1024,
  daemonTtlMs: 30 * 86_400_000,
  version: VERSION
}

export type RelayServices = ApiKeys | RelaySessions | RelayRouter

export const COOKIE = "__Host-rw_session"

/**
 * What the relay reads of a request to place it: the peer's address and the headers. node:http
 * requests (the proxy core) and the platform's requests (the relay's own routes) both give it.
 */
export interface RequestHead {
  readonly address: string | undefined
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
}

export interface CurrentSession {
  readonly id: string
  readonly session: RelaySession
}

const headerText = (value: string | ReadonlyArray<string> | undefined): string =>
  value === undefined ? "" : typeof value === "string" ? value : value.join(",")

const sessionIdOf = (header: string | ReadonlyArray<string> | undefined): string | undefined => {
  for (const part of headerText(header).split(";")) {
    const [name, ...rest] = part.trim().split("=")
    if (name === COOKIE) return rest.join("=")
  }
  return undefined
}

/** The key a daemon or the CLI presents: `Authorization: Bearer rw_...`. */
export const bearer = (authorization: string | ReadonlyArray<string> | undefined): string | undefined =>
  /^Bearer (\S+)$/.exec(headerText(authorization))?.[1]

/**
 * What every relay handler shares: options, the Effect runtime of the relay's services, and the
 * rate limits (buckets "auth" and "register"), kept in the store so replicas count the same hits.
 */
export class RelayContext {
  readonly gate: ClientGate
  readonly startedAt = Date.now()
  draining = false
  /** The services the proxy path calls synchronously (their `Now` steps), without a fiber per request. */
  readonly sessions: Context.Tag.Service<RelaySessions>
  readonly router: Context.Tag.Service<RelayRouter>
  /** The audit log (off unless the relay provides one), looked up once rather than per request. */
  readonly audit: AuditLog

  constructor(
    readonly options: RelayOptions,
    readonly runtime: Runtime.Runtime<RelayServices>,
    readonly limits: Context.Tag.Service<RateLimits>
  ) {
    this.gate = new ClientGate(options.maxUnauthenticatedPerClient, options.headersTimeoutMs, options.bodyTimeoutMs)
    this.sessions = Context.get(runtime.context, RelaySessions)
    this.router = Context.get(runtime.context, RelayRouter)
    this.audit = Context.get(runtime.context, Audit)
  }

  run<A>(effect: Effect.Effect<A, never, RelayServices>): Promise<A> {
    return Runtime.runPromise(this.runtime)(effect)
  }

  /**
   * `run` for the per-request lookups, which are synchronous underneath: run to completion on
   * the spot (no fiber scheduling), and only when the effect had to wait, await its fiber.
   */
  runQuick<A>(effect: Effect.Effect<A, never, RelayServices>): Promise<A> {
    const exit = Runtime.runSyncExit(this.runtime)(effect)
    if (Exit.isSuccess(exit)) return Promise.resolve(exit.value)
    const defect = Cause.dieOption(exit.cause)
    if (Option.isSome(defect) && Runtime.isAsyncFiberException(defect.value)) {
      return Runtime.runPromise(this.runtime)(Fiber.join(defect.value.fiber as unknown as Fiber.Fiber<A>))
    }
    return Promise.reject(Cause.squash(exit.cause))
  }

  /** Whether a socket's peer is the trusted TLS proxy. */
  isProxy(address: string | undefined): boolean {
    const remote = (address ?? "").replace(/^::ffff:/, "")
    return this.options.trustedProxies.some((p) => addressMatches(p, remote))
  }

  /** The client address: the proxy's view only when the request came from the trusted proxy. */
  clientIp(head: RequestHead): string {
    const remote = head.address ?? "unknown"
    if (!this.isProxy(head.address)) return remote
    const forwarded = headerText(head.headers["x-forwarded-for"]).split(",").map((s) => s.trim()).filter(Boolean)
    return forwarded[forwarded.length - 1] ?? remote
  }

  /** The origin browsers see for this relay. */
  origin(head: RequestHead): string {
    const proxied = this.isProxy(head.address)
    const { headers } = head
    const proto = proxied
      ? headerText(headers["x-forwarded-proto"] ?? "https").split(",")[0]!.trim()
      : this.options.tls
      ? "https"
      : "http"
    const host = proxied ? headerText(headers["x-forwarded-host"] ?? headers.host) : headerText(headers.host)
    return `${proto}://${host.split(",")[0]!.trim()}`
  }

  /** No Origin (same-origin navigation in older browsers) or exactly ours. */
  sameOrigin(head: RequestHead): boolean {
    const origin = head.headers.origin
    return origin === undefined || origin === this.origin(head)
  }

  sessionId(head: RequestHead): string | undefined {
    return sessionIdOf(head.headers.cookie)
  }

  /** The request's session, when its cookie names a live one. */
  session(head: RequestHead): Effect.Effect<CurrentSession | undefined, never, RelaySessions> {
    const id = this.sessionId(head)
    if (id === undefined) return Effect.succeed(undefined)
    return Effect.map(
      Effect.flatMap(RelaySessions, (s) => s.get(id)),
      Option.match({ onNone: () => undefined, onSome: (session) => ({ id, session }) })
    )
  }

  /** `session` on the spot: Some(answer) when the store answers synchronously, None when only the effect can. */
  sessionNow(head: RequestHead): Option.Option<CurrentSession | undefined> {
    const id = this.sessionId(head)
    if (id === undefined) return Option.some(undefined)
    const found = this.sessions.getNow(id, Date.now())
    if (found === undefined) return Option.none()
    return Option.some(Option.isSome(found) ? { id, session: found.value } : undefined)
  }

  cookie(id: string): string {
    return `${COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${
      Math.floor(this.options.sessionTtlMs / 1000)
    }`
  }

  clearCookie(): string {
    return `${COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`
  }
}

const ipv4 = (s: string): number | undefined => {
  const parts = s.split(".").map(Number)
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)
    ? parts.reduce((acc, n) => acc * 256 + n, 0)
    : undefined
}

/** An exact address, or an IPv4 CIDR such as 172.16.0.0/12 (a container network). */
export const addressMatches = (rule: string, remote: string): boolean => {
  const [base, bits] = rule.split("/")
  if (bits === undefined) return rule.replace(/^::ffff:/, "") === remote
  const a = ipv4(base!)
  const b = ipv4(remote)
  const n = Number(bits)
  if (a === undefined || b === undefined || !(n >= 0 && n <= 32)) return false
  const size = 2 ** (32 - n)
  return Math.floor(a / size) === Math.floor(b / size)
}

/** The relay's context, for the routes served on `@effect/platform`. */
export class Relay extends Context.Tag("repowire/relay/RelayContext")<Relay, RelayContext>() {}

/** The head of the request a platform route is serving. */
export const requestHead = Effect.map(HttpServerRequest.HttpServerRequest, (request): RequestHead => ({
  address: Option.getOrUndefined(request.remoteAddress),
  headers: request.headers
}))
