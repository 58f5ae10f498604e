/**
 * What a browser may reach through the relay: the dashboard and the routes it uses. Never
 * /mcp, /ws (agent transports), peer removal, or anything local-only.
 */
const rules: ReadonlyArray<readonly [method: string, pattern: RegExp]> = [
  ["GET", /^\/$/],
  ["GET", /^\/dashboard(\/.*)?$/],
  ["POST", /^\/dashboard\/session$/],
  ["GET", /^\/health$/],
  ["GET", /^\/peers(\/[^/]+)?$/],
  ["GET", /^\/asks(\/[^/]+)?$/],
  ["POST", /^\/asks\/[^/]+\/wait$/],
  ["GET", /^\/events$/],
  ["GET", /^\/events\/stream$/],
  ["GET", /^\/events\/ws$/],
  ["POST", /^\/(ask|ack|notify|broadcast)$/],
  ["POST", /^\/attachments$/],
  ["GET", /^\/attachments\/[^/]+$/]
]

export const isTunnelAllowed = (method: string, path: string): boolean =>
  rules.some(([m, pattern]) => m === method.toUpperCase() && pattern.test(path))
