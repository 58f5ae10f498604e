import { Context } from "effect"

/** True while the daemon serves a request that arrived through the relay tunnel. */
export class Tunnelled extends Context.Reference<Tunnelled>()("repowire/Tunnelled", {
  defaultValue: () => false
}) {}
