import { Context, type Effect, type Option, type Redacted } from "effect"

export interface ApiKeyRecord {
  readonly key_id: string
  readonly user_id: string
  readonly label: string | null
  readonly created_at: string
  readonly revoked_at: string | null
}

export interface MintedKey {
  readonly key: Redacted.Redacted<string>
  readonly record: ApiKeyRecord
}

/**
 * Relay keys: `rw_` + 256 random bits, stored only as SHA-256 digests, compared in constant
 * time, each bound to one user id. A key is shown once, when it is minted.
 */
export class ApiKeys extends Context.Tag("repowire/ApiKeys")<ApiKeys, {
  /** A fresh key for a user id (the user is created when new). */
  readonly create: (userId: string, label?: string) => Effect.Effect<MintedKey>
  /** A new user with a random id and its first key: what a daemon's registration gets. */
  readonly register: (label?: string) => Effect.Effect<MintedKey>
  /** The active key record matching a presented key. */
  readonly verify: (key: Redacted.Redacted<string>) => Effect.Effect<Option.Option<ApiKeyRecord>>
  readonly list: Effect.Effect<ReadonlyArray<ApiKeyRecord>>
  /** Revokes by key id, or every key of a user id; returns the revoked key ids. */
  readonly revoke: (keyIdOrUser: string) => Effect.Effect<ReadonlyArray<string>>
}>() {}
