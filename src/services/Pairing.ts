import { Context, type Effect, type Redacted } from "effect"
import type { PairingRefused } from "../protocol/Errors.js"
import type { PairedDevice } from "../protocol/sealed/Devices.js"
import type { HandshakeFailed } from "../protocol/sealed/SealedErrors.js"

/** A minted pairing secret: its link form (shown once) and when it expires. */
export interface PairingTicket {
  readonly secret: Redacted.Redacted<string>
  readonly expiresAt: number
}

/**
 * Pairing a browser (SPEC §9): one-time secrets, valid 10 minutes, and the daemon's side of
 * the Noise_XXpsk3 handshake they key. A secret is spent only by a handshake that completes;
 * an unknown, used or expired one is refused, and a wrong key fails the handshake. Either
 * way nothing is stored.
 */
export class Pairing extends Context.Tag("repowire/Pairing")<Pairing, {
  readonly mint: Effect.Effect<PairingTicket>
  /** The handshake's first message in, the daemon's reply out. */
  readonly begin: (secretId: string, message: Uint8Array) => Effect.Effect<Uint8Array, PairingRefused | HandshakeFailed>
  /**
   * The last message in (its payload is the device's label): the secret is spent and the
   * browser stored as a device, and the daemon's confirmation (sealed on stream 0 of the new
   * session) comes back for the browser to open.
   */
  readonly finish: (
    secretId: string,
    message: Uint8Array
  ) => Effect.Effect<
    { readonly device: PairedDevice; readonly confirmation: Uint8Array },
    PairingRefused | HandshakeFailed
  >
}>() {}

/** How long a pairing secret lives. */
export const PAIRING_TTL_MS = 10 * 60_000
