import { shimPath } from "./Shim.js"

/** A command given by REPOWIRE_SETUP_COMMAND (a JSON array), for tests and packagers. */
export const setupCommandOverride = (env: NodeJS.ProcessEnv = process.env): ReadonlyArray<string> | undefined => {
  if (!env.REPOWIRE_SETUP_COMMAND) return undefined
  const parsed: unknown = JSON.parse(env.REPOWIRE_SETUP_COMMAND)
  return Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === "string") ? parsed : undefined
}

/**
 * How agents' configs invoke repowire: the shim $REPOWIRE_HOME/bin/repowire that setup writes
 * (see Shim.ts), never a path inside an install, so upgrading or moving repowire does not break
 * them. REPOWIRE_SETUP_COMMAND overrides it.
 */
export const setupCommandParts = (home: string, env: NodeJS.ProcessEnv = process.env): ReadonlyArray<string> =>
  setupCommandOverride(env) ?? [shimPath(home)]
