import { Effect } from "effect"
import { equalBytes } from "./Bytes.js"
import * as Core from "./core/Pairing.js"
import { Handshake } from "./Handshake.js"
import type { KeyPair } from "./Primitives.js"
import { HandshakeFailed } from "./SealedErrors.js"

/**
 * The two handshakes of the sealed tunnel (pairing, Noise_XXpsk3; session, Noise_XX: see
 * ./core/Pairing.ts), as effects for the daemon and its tests.
 */

export {
  formatPairingSecret,
  newPairingSecret,
  PAIRING_PROLOGUE,
  type PairingSecret,
  parsePairingSecret,
  SESSION_PROLOGUE
} from "./core/Pairing.js"

/** The 32-byte Noise psk of a pairing secret's key: HMAC-SHA256 under the key, of a fixed label. */
export const pairingPsk = (key: Uint8Array) => Effect.promise(() => Core.pairingPsk(key))

/** The browser's side of pairing. */
export const startPairing = (s: KeyPair, psk: Uint8Array) => Handshake.make(Core.pairingOptions(s, psk, true))

/** The daemon's side of pairing, with the psk of the secret the browser named. */
export const acceptPairing = (s: KeyPair, psk: Uint8Array) => Handshake.make(Core.pairingOptions(s, psk, false))

export const startSession = (s: KeyPair) => Handshake.make(Core.sessionOptions(s, true))

export const acceptSession = (s: KeyPair) => Handshake.make(Core.sessionOptions(s, false))

/**
 * Reads the peer's next handshake message and then insists its static key is pinned: used
 * by the browser on the message that carries the daemon's key, and by the daemon on the
 * last message (the browser's key). A refused key fails the handshake.
 */
export const readPinned = <E, R>(
  handshake: Handshake,
  message: Uint8Array,
  pinned: (key: Uint8Array) => Effect.Effect<boolean, E, R>
): Effect.Effect<Uint8Array, HandshakeFailed | E, R> =>
  Effect.gen(function*() {
    const payload = yield* handshake.readMessage(message)
    const key = handshake.remoteStatic
    if (key === undefined || !(yield* pinned(key))) {
      return yield* new HandshakeFailed({ reason: "unpinned_key", message: "the peer's static key is not pinned" })
    }
    return payload
  })

/** A pin on one known key (the browser's pin on its daemon). */
export const pinnedTo = (expected: Uint8Array) => (key: Uint8Array) => Effect.succeed(equalBytes(key, expected))

/** How a static key is shown to people: SHA-256 of the public key, hex. */
export const fingerprintOf = (publicKey: Uint8Array) => Effect.promise(() => Core.fingerprintOf(publicKey))
