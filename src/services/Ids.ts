import { Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"

/** Identifiers and secrets. Ids are lowercase base36 so they fit the protocol's patterns. */
export class Ids extends Context.Tag("repowire/Ids")<Ids, {
  readonly make: (prefix: "peer" | "msg" | "ask" | "att") => Effect.Effect<string>
  readonly secret: Effect.Effect<string>
}>() {
  static readonly Live = Layer.succeed(Ids, {
    make: (prefix) => Effect.sync(() => `${prefix}-${randomBytes(10).toString("hex")}`),
    secret: Effect.sync(() => randomBytes(32).toString("base64url"))
  })
}
