import { Context, type Effect } from "effect"

/** A fixed window: at most `max` hits per client in `windowMs`, counted from its first hit. */
export interface RateLimit {
  readonly max: number
  readonly windowMs: number
}

/**
 * Rate limits kept in the relay's store, so every replica counts the same hits: what lets
 * `/auth` stay limited when requests are spread over several replicas.
 */
export class RateLimits extends Context.Tag("repowire/RateLimits")<RateLimits, {
  /**
   * Counts one hit of `client` against `bucket` (e.g. "auth", "register"): true when it may
   * proceed, otherwise the seconds until its window ends.
   */
  readonly take: (bucket: string, client: string) => Effect.Effect<true | number>
}>() {}
