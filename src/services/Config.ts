import { Context, Data, Redacted } from "effect"
import type { ConfigFile } from "../protocol/ConfigFile.js"
import type { RepowirePaths } from "../protocol/HomeFiles.js"

export type { RepowirePaths } from "../protocol/HomeFiles.js"

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly message: string }> {}

/** The effective configuration: config.yaml decoded, environment overrides applied. */
export class Config extends Context.Tag("repowire/Config")<Config, {
  readonly paths: RepowirePaths
  readonly values: ConfigFile
  readonly authToken: Redacted.Redacted<string> | undefined
  /** config.yaml is upstream repowire's: keys read under our names, and keys ignored. */
  readonly upstream?: { readonly renamed: ReadonlyArray<string>; readonly ignored: ReadonlyArray<string> }
}>() {}

export const redactedOrUndefined = (value: string | null): Redacted.Redacted<string> | undefined =>
  value === null ? undefined : Redacted.make(value)
