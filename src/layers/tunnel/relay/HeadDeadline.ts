import { tunnelPathname } from "../../../protocol/TunnelRoutes.js"

const LONG_POLL = /^\/asks\/[^/]+\/wait$/
const DEFAULT_WAIT_S = 30
const MAX_WAIT_S = 600

/**
 * How long the daemon may take, once a request is through, to send its response head: the
 * relay's response timeout, plus the wait a long-poll (`POST /asks/{id}/wait?timeout=S`) asks for.
 */
export const headDeadlineMs = (method: string, url: string, responseTimeoutMs: number): number => {
  const path = tunnelPathname(url)
  if (method !== "POST" || path === undefined || !LONG_POLL.test(path)) return responseTimeoutMs
  const asked = Number(new URLSearchParams(url.split("?")[1] ?? "").get("timeout") ?? DEFAULT_WAIT_S)
  const waitS = Number.isFinite(asked) && asked >= 0 ? Math.min(asked, MAX_WAIT_S) : DEFAULT_WAIT_S
  return responseTimeoutMs + waitS * 1000
}
