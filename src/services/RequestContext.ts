import { Context } from "effect"

/** True while the daemon serves a request that arrived through the relay tunnel. */
export class Tunnelled extends Context.Reference<Tunnelled>()("repowire/Tunnelled", {
  defaultValue: () => false
}) {}

/** The paired device whose sealed channel carries this request (tunnelled requests only). */
export class SealedDevice extends Context.Reference<SealedDevice>()("repowire/SealedDevice", {
  defaultValue: (): string | undefined => undefined
}) {}
