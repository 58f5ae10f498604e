import * as fs from "node:fs"
import { resolvePaths, runningDaemonUrl } from "../../protocol/HomeFiles.js"
import type { DaemonTarget } from "./DaemonHttp.js"

const hostForUrl = (host: string) => (host.includes(":") ? `[${host}]` : host)

/**
 * The daemon address and auth token without decoding the whole config: hooks need only these
 * and must start fast. The daemon and the CLI decode (and reject) an invalid file; here a value
 * of the wrong type falls back to its default. `yaml` loads only when config.yaml exists.
 */
export const quickDaemonTarget = async (env: NodeJS.ProcessEnv = process.env): Promise<DaemonTarget> => {
  let daemon: Record<string, unknown> = {}
  const paths = resolvePaths(env)
  const file = paths.configFile
  let text: string | undefined
  try {
    text = fs.readFileSync(file, "utf8")
  } catch {
    text = undefined
  }
  if (text !== undefined && text.trim() !== "") {
    // The bundle may hand the CommonJS build over as `default`.
    const mod = await import("yaml") as typeof import("yaml") & { default?: typeof import("yaml") }
    const parse = typeof mod.parse === "function" ? mod.parse : mod.default!.parse
    let doc: { daemon?: unknown } | null = null
    try {
      doc = parse(text) as { daemon?: unknown } | null
    } catch {
      doc = null
    }
    if (doc && typeof doc.daemon === "object" && doc.daemon !== null) daemon = doc.daemon as Record<string, unknown>
  }
  const host = env.REPOWIRE_DAEMON__HOST || (typeof daemon.host === "string" ? daemon.host : "127.0.0.1")
  const portRaw = env.REPOWIRE_DAEMON__PORT ?? daemon.port
  const port = Number.isInteger(Number(portRaw)) && portRaw !== undefined && portRaw !== "" ? Number(portRaw) : 8377
  // REPOWIRE_AUTH_TOKEN: upstream repowire's name, which wins there as here (see ConfigLive).
  const tokenRaw = env.REPOWIRE_AUTH_TOKEN ||
    (env.REPOWIRE_DAEMON__AUTH_TOKEN !== undefined ? env.REPOWIRE_DAEMON__AUTH_TOKEN : daemon.auth_token)
  return {
    baseUrl: runningDaemonUrl(paths) ?? `http://${hostForUrl(host)}:${port}`,
    authToken: typeof tokenRaw === "string" && tokenRaw !== "" ? tokenRaw : null
  }
}
