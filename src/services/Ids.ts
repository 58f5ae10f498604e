import { Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"

const ID_BYTES = 10
const POOL_BYTES = ID_BYTES * 512

/** Random bytes for ids, drawn from the CSPRNG in blocks: one call per 512 ids, not per id. */
const pooledHex = () => {
  let pool = randomBytes(POOL_BYTES)
  let offset = 0
  return () => {
    if (offset === POOL_BYTES) {
      pool = randomBytes(POOL_BYTES)
      offset = 0
    }
    offset += ID_BYTES
    return pool.toString("hex", offset - ID_BYTES, offset)
  }
}

export type IdPrefix = "peer" | "msg" | "ask" | "att" | "sch"

/** Identifiers and secrets. Ids are lowercase base36 so they fit the protocol's patterns. */
export class Ids extends Context.Tag("repowire/Ids")<Ids, {
  readonly make: (prefix: IdPrefix) => Effect.Effect<string>
  /** `make` as a synchronous step. */
  readonly next: (prefix: IdPrefix) => string
  readonly secret: Effect.Effect<string>
}>() {
  static readonly Live = Layer.sync(Ids, () => {
    const hex = pooledHex()
    const next = (prefix: IdPrefix) => `${prefix}-${hex()}`
    return {
      make: (prefix) => Effect.sync(() => next(prefix)),
      next,
      // Secrets come straight from the CSPRNG, never from a buffer that outlives them.
      secret: Effect.sync(() => randomBytes(32).toString("base64url"))
    }
  })
}
