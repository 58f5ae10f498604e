import { Layer } from "effect"
import { DevicesLive } from "./DevicesLive.js"
import { SealedIdentityLive } from "./IdentityLive.js"
import { PairingLive } from "./PairingLive.js"
import { SealedSessionsLive } from "./SealedSessionsLive.js"

/**
 * The daemon's side of the sealed tunnel: its identity, pairing, paired devices and session
 * handshakes. Needs Config and Database.
 */
export const SealedLive = Layer.mergeAll(PairingLive, SealedSessionsLive).pipe(
  Layer.provideMerge(DevicesLive),
  Layer.provideMerge(SealedIdentityLive)
)
