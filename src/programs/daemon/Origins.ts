import type { ConfigFile } from "../../protocol/ConfigFile.js"

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const

/** `Host` values a local request may carry: a loopback name with the daemon's port. */
export const allowedHosts = (port: number): ReadonlySet<string> =>
  new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`))

/** The relay's browser origin, when the relay client is on. */
export const relayOrigin = (values: ConfigFile): string | undefined => {
  if (!values.relay.enabled || values.relay.url === null) return undefined
  try {
    const url = new URL(values.relay.url.replace(/^ws/, "http"))
    return url.origin
  } catch {
    return undefined
  }
}

/** Origins allowed to call the daemon from a browser: the local dashboard and the relay. */
export const allowedOrigins = (port: number, values: ConfigFile): ReadonlySet<string> => {
  const origins = new Set(LOOPBACK_NAMES.map((name) => `http://${name}:${port}`))
  const relay = relayOrigin(values)
  if (relay !== undefined) origins.add(relay)
  return origins
}
