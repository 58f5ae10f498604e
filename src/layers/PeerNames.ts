import { Either } from "effect"
import { AmbiguousPeer, PeerNotFound } from "../protocol/Errors.js"
import type { Peer } from "../protocol/Peer.js"

/** The first of `base`, `base-2`, `base-3`, … that no one in the circle goes by. */
export const nextFreeName = (base: string, taken: ReadonlySet<string>): string => {
  if (!taken.has(base)) return base
  for (let n = 2;; n++) {
    if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
  }
}

/** The one peer among `peers` that `ref` names, or why there is none. */
export const pick = (
  ref: string,
  scope: string | undefined,
  peers: ReadonlyArray<Peer>
): Either.Either<Peer, PeerNotFound | AmbiguousPeer> => {
  const live = peers.filter((p) => p.status !== "offline")
  const pool = live.length > 0 ? live : peers
  if (pool.length === 0) {
    return Either.left(
      new PeerNotFound({
        message: `no peer named \`${ref}\`${
          scope === undefined ? "" : ` in circle ${scope}`
        } (list_peers shows who is there)`
      })
    )
  }
  if (new Set(pool.map((p) => p.circle)).size > 1 || live.length > 1) {
    const machines = new Set(pool.map((p) => p.machine)).size > 1
    const options = pool.map((p) =>
      `${p.display_name}${machines ? `@${p.machine}` : ""} (circle ${p.circle}, ${p.peer_id})`
    ).join(", ")
    return Either.left(
      new AmbiguousPeer({ message: `peer \`${ref}\` is ambiguous: use one of ${options}, or pass circle` })
    )
  }
  return Either.right(pool.reduce((a, b) => (a.last_seen >= b.last_seen ? a : b)))
}
