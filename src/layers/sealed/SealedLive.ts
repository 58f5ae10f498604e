import { Layer } from "effect"
import { DevicesLive } from "./DevicesLive.js"
import { SealedIdentityLive } from "./IdentityLive.js"
import { PairingLive } from "./PairingLive.js"

/** The daemon's side of the sealed tunnel: its identity, pairing and paired devices. Needs Config and Database. */
export const SealedLive = Layer.mergeAll(PairingLive, DevicesLive).pipe(Layer.provideMerge(SealedIdentityLive))
