import { Layer } from "effect"
import { DevicesLive } from "./DevicesLive.js"
import { SealedIdentityLive } from "./IdentityLive.js"
import { PairingLive } from "./PairingLive.js"
import { SealedChannelsLive } from "./SealedChannelsLive.js"
import { SealedSessionsLive } from "./SealedSessionsLive.js"

/**
 * The daemon's side of the sealed tunnel: its identity, pairing, paired devices and session
 * handshakes and channels. Needs Config, Database and LocalApp.
 */
export const SealedLive = Layer.mergeAll(PairingLive, SealedChannelsLive).pipe(
  Layer.provideMerge(SealedSessionsLive),
  Layer.provideMerge(DevicesLive),
  Layer.provideMerge(SealedIdentityLive)
)
