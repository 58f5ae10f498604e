/**
 * What may travel through the relay tunnel. The relay refuses everything else before it
 * opens a stream, and the daemon's guard applies the same list to requests marked Tunnelled.
 */

const rules: ReadonlyArray<readonly [method: string, pattern: RegExp]> = [
  ["GET", /^\/$/],
  ["GET", /^\/dashboard(\/.*)?$/],
  ["GET", /^\/health$/],
  ["GET", /^\/policy$/],
  ["GET", /^\/peers(\/[^/]+)?$/],
  ["GET", /^\/asks(\/[^/]+)?$/],
  ["POST", /^\/asks\/[^/]+\/wait$/],
  ["GET", /^\/events$/],
  ["GET", /^\/events\/stream$/],
  ["GET", /^\/events\/ws$/],
  ["POST", /^\/(ask|ack|notify|broadcast)$/],
  ["POST", /^\/attachments$/],
  ["GET", /^\/attachments\/[^/]+$/],
  // The dashboard lists and deletes schedules; creating one stays local (CLI, MCP tools).
  ["GET", /^\/schedules$/],
  ["DELETE", /^\/schedules\/[^/]+$/],
  // Starting and stopping agents: the daemon refuses them unless an access rule allows via:relay spawn.
  ["POST", /^\/spawn$/],
  ["POST", /^\/peers\/[^/]+\/kill$/],
  // The sealed tunnel (SPEC §9): the pairing handshake and the one channel that carries the rest.
  ["POST", /^\/sealed\/pair\/(begin|finish)$/],
  ["GET", /^\/sealed\/channel$/]
]

/** The sealed channel's path: a WebSocket that carries every other request, sealed. */
export const SEALED_CHANNEL_PATH = "/sealed/channel"

/**
 * What a browser may reach through the relay without a sealed channel when the daemon requires
 * one (`relay.e2e: required`): the loader page, the pairing handshake and the channel itself.
 */
const unsealed: ReadonlyArray<readonly [method: string, pattern: RegExp]> = [
  ["GET", /^\/dashboard$/],
  ["POST", /^\/sealed\/pair\/(begin|finish)$/],
  ["GET", /^\/sealed\/channel$/]
]

/** Paths with dot segments, doubled or encoded separators are refused rather than normalised. */
const suspicious = /(^|\/)\.\.?(\/|$)|\/\/|\\|%2e|%2f|%5c|%00/i

export const tunnelPathname = (url: string): string | undefined => {
  const path = url.split("?")[0] ?? ""
  return path.startsWith("/") && !suspicious.test(path) ? path : undefined
}

export const isTunnelAllowed = (method: string, url: string): boolean =>
  isTunnelPathAllowed(method, tunnelPathname(url))

/** The same for a path already taken from its URL by `tunnelPathname` (undefined: refused). */
export const isTunnelPathAllowed = (method: string, path: string | undefined): path is string =>
  path !== undefined && rules.some(([m, pattern]) => m === method && pattern.test(path))

export const isUnsealedAllowed = (method: string, url: string): boolean => {
  const path = tunnelPathname(url)
  return path !== undefined && unsealed.some(([m, pattern]) => m === method && pattern.test(path))
}

/** The WebSockets a browser may open through the relay. */
export const isTunnelSocket = (url: string): boolean => {
  const path = tunnelPathname(url)
  return isTunnelAllowed("GET", url) && (path === "/events/ws" || path === SEALED_CHANNEL_PATH)
}

/** Hop-by-hop headers and the browser's credentials: never passed on by the relay, to a daemon or a replica. */
export const HOP_BY_HOP_AND_CREDENTIALS: ReadonlyArray<string> = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "cookie",
  "authorization",
  "proxy-authorization"
]

/** Those, and everything that could carry a spoofed client address or origin. */
const dropped = new Set([
  ...HOP_BY_HOP_AND_CREDENTIALS,
  "origin",
  "referer",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-real-ip",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-accept"
])

export const isDroppedHeader = (name: string): boolean => {
  const lower = name.toLowerCase()
  return dropped.has(lower) || lower.startsWith("x-repowire-") || lower.startsWith("cf-")
}

/** Node's rawHeaders ([k, v, k, v, ...]) filtered to the pairs a tunnelled request may carry. */
export const tunnelHeaders = (raw: ReadonlyArray<string>): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    if (!isDroppedHeader(name)) out.push([name.toLowerCase(), raw[i + 1]!])
  }
  return out
}
