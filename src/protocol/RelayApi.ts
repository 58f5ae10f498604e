import { Schema } from "effect"

/** JSON routes a daemon's CLI calls at the relay (`/api/*`); the browser side is HTML forms. */
export const RelayKey = Schema.String.pipe(Schema.pattern(/^rw_[A-Za-z0-9_-]{43}$/), Schema.brand("RelayKey"))

export const RegisterRequest = Schema.Struct({
  label: Schema.optional(Schema.String.pipe(Schema.maxLength(64), Schema.pattern(/^[\w .@-]*$/)))
})
export type RegisterRequest = typeof RegisterRequest.Type

/** `POST /api/register` → a new user and its first key; `POST /api/rotate` → a new key for the caller. */
export const KeyIssued = Schema.Struct({
  user_id: Schema.String,
  key_id: Schema.String,
  api_key: Schema.String.pipe(Schema.pattern(/^rw_[A-Za-z0-9_-]{43}$/)),
  revoked_key_id: Schema.optional(Schema.String)
})
export type KeyIssued = typeof KeyIssued.Type

export const RelayHealth = Schema.Struct({
  ok: Schema.Boolean,
  version: Schema.String,
  uptime_s: Schema.Number,
  tunnels: Schema.Int,
  streams: Schema.Int,
  /** Bytes the relay holds for daemons that have not read them yet, over all tunnels. */
  queued_bytes: Schema.Int,
  draining: Schema.Boolean
})
export type RelayHealth = typeof RelayHealth.Type

/** Header names on `GET /tunnel` (the key travels in Authorization: Bearer, never the URL). */
export const DAEMON_ID_HEADER = "x-repowire-daemon-id"
export const DaemonId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/))
