import { Data, Effect } from "effect"
import { ConfigLive } from "../../layers/ConfigLive.js"
import type { Config } from "../../services/Config.js"

/** A failure the CLI reports as one line on stderr, exiting non-zero. */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

export const fail = (message: string) => Effect.fail(new CliError({ message }))

/** Loads the Config, turning an invalid file into a one-line CLI error. */
export const withConfig = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CliError, Exclude<R, Config>> =>
  effect.pipe(
    Effect.provide(ConfigLive),
    Effect.catchIf(
      (e): e is Extract<E, { _tag: "ConfigError" }> =>
        typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ConfigError",
      (e) => fail((e as unknown as { message: string }).message)
    )
  ) as Effect.Effect<A, E | CliError, Exclude<R, Config>>
