import * as fs from "node:fs"
import * as path from "node:path"

/**
 * How agents' configs invoke repowire: `repowire` when it is on PATH, else this very node and
 * bin file (a checkout that was never `npm link`ed). REPOWIRE_SETUP_COMMAND overrides (JSON array).
 */
export const setupCommandParts = (env: NodeJS.ProcessEnv = process.env): ReadonlyArray<string> => {
  if (env.REPOWIRE_SETUP_COMMAND) {
    const parsed: unknown = JSON.parse(env.REPOWIRE_SETUP_COMMAND)
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === "string")) return parsed
  }
  const onPath = (env.PATH ?? "").split(path.delimiter).some((d) => d !== "" && fs.existsSync(path.join(d, "repowire")))
  return onPath ? ["repowire"] : [process.execPath, path.resolve(process.argv[1] ?? "repowire")]
}
