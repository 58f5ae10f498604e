import { createHmac, timingSafeEqual } from "node:crypto"

/** Replica-to-replica requests go to this prefix + the browser's own path and query. */
export const HOP_PREFIX = "/_relay/hop"
/** `time.user.daemon.mac`: whose tunnel, when, and an HMAC by the cluster secret. */
export const HOP_HEADER = "x-repowire-hop"
/** How long a signed hop is accepted (replicas' clocks must agree to well within it). */
export const HOP_WINDOW_MS = 10_000

export interface HopTarget {
  readonly userId: string
  readonly daemonId: string
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url")
const unb64 = (s: string) => Buffer.from(s, "base64url").toString("utf8")

const mac = (secret: string, method: string, path: string, time: string, target: HopTarget) =>
  createHmac("sha256", secret).update([method, path, time, target.userId, target.daemonId].join("\n")).digest()

/** The hop header for `method path` (the browser's path, without the prefix) into `target`'s tunnel. */
export const signHop = (secret: string, method: string, path: string, target: HopTarget, now = Date.now()): string => {
  const time = String(now)
  return [time, b64(target.userId), b64(target.daemonId), mac(secret, method, path, time, target).toString("base64url")]
    .join(".")
}

/** The target a hop header proves, when its MAC matches (constant time) and it is fresh. */
export const verifyHop = (
  secret: string,
  method: string,
  path: string,
  header: string | ReadonlyArray<string> | undefined,
  now = Date.now()
): HopTarget | undefined => {
  if (typeof header !== "string") return undefined
  const [time, user, daemon, given, ...rest] = header.split(".")
  if (time === undefined || user === undefined || daemon === undefined || given === undefined || rest.length > 0) {
    return undefined
  }
  if (!/^\d{1,16}$/.test(time) || Math.abs(now - Number(time)) > HOP_WINDOW_MS) return undefined
  const target = { userId: unb64(user), daemonId: unb64(daemon) }
  const expected = mac(secret, method, path, time, target)
  const presented = Buffer.from(given, "base64url")
  return presented.length === expected.length && timingSafeEqual(presented, expected) ? target : undefined
}
