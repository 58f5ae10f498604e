import { Context, type Duration, type Effect, type Option, type Redacted } from "effect"

export interface RelaySession {
  readonly user_id: string
  readonly key_id: string
  readonly daemon_id: string | null
  readonly expires_at: number
}

/** Browser sessions at the relay: the cookie holds a random id; only its digest is stored. */
export class RelaySessions extends Context.Tag("repowire/RelaySessions")<RelaySessions, {
  readonly create: (userId: string, keyId: string, ttl: Duration.Duration) => Effect.Effect<{
    readonly id: Redacted.Redacted<string>
    readonly expiresAt: number
  }>
  /** The live session for a cookie value; expired ones are removed on the way. */
  readonly get: (id: string) => Effect.Effect<Option.Option<RelaySession>>
  /**
   * `get` on the spot, for the relay's proxy path (a synchronous `Now` step): the answer when
   * the store can give it synchronously (a prepared SQLite statement); undefined when only `get`
   * can (PostgreSQL, an in-memory store, or an expired session that must be removed).
   */
  readonly getNow: (id: string, now: number) => Option.Option<RelaySession> | undefined
  readonly choose: (id: string, daemonId: string) => Effect.Effect<void>
  readonly remove: (id: string) => Effect.Effect<void>
  /** Ends every session opened with this key; returns how many. */
  readonly removeByKey: (keyId: string) => Effect.Effect<number>
}>() {}
