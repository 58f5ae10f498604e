import { Schema } from "effect"

/** A browser paired with this daemon: its static key's fingerprint, never the key's private half. */
export const PairedDevice = Schema.Struct({
  id: Schema.String,
  label: Schema.String,
  /** SHA-256 of the device's X25519 public key, hex. */
  fingerprint: Schema.String,
  created_at: Schema.String,
  last_seen: Schema.String,
  revoked_at: Schema.NullOr(Schema.String)
})
export type PairedDevice = typeof PairedDevice.Type

export const DeviceList = Schema.Struct({ devices: Schema.Array(PairedDevice) })

/** `POST /relay/pair`'s answer: the one-time secret, shown once, and when it stops working. */
export const PairingTicket = Schema.Struct({
  secret: Schema.String,
  expires_at: Schema.String,
  /** The daemon's identity fingerprint, for the page to show beside the one it pairs with. */
  daemon_fingerprint: Schema.String
})
export type PairingTicket = typeof PairingTicket.Type

/** A Noise handshake message of the pairing, base64url, naming the secret by its id. */
export const PairingMessage = Schema.Struct({
  secret_id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{12}$/)),
  message: Schema.String.pipe(Schema.maxLength(90_000), Schema.pattern(/^[A-Za-z0-9_-]+$/))
})
export type PairingMessage = typeof PairingMessage.Type

export const PairingReply = Schema.Struct({ message: Schema.String })

/** The last step's answer: the daemon's confirmation, sealed on stream 0 of the new session. */
export const PairingDone = Schema.Struct({ device_id: Schema.String, confirmation: Schema.String })
