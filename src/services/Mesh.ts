import { Context, type Effect } from "effect"
import type { BadRequest, NotFound, PairingRefused, Unavailable } from "../protocol/Errors.js"
import type { MeshLink } from "../protocol/MeshWire.js"

/**
 * One mesh across machines (SPEC §12): this daemon's links to other daemons of its user,
 * through the relay, sealed between pinned identity keys.
 */
export class Mesh extends Context.Tag("repowire/Mesh")<Mesh, {
  /** A single-use join code, valid 10 minutes. */
  readonly pair: Effect.Effect<{ readonly code: string; readonly expiresAt: number }, Unavailable>
  /** Runs the join handshake with the daemon that printed `code`; both then pin each other. */
  readonly join: (
    code: string
  ) => Effect.Effect<
    { readonly machine: string; readonly fingerprint: string },
    BadRequest | PairingRefused | Unavailable
  >
  readonly list: Effect.Effect<ReadonlyArray<MeshLink>>
  /** Ends a link on both sides (the other side is told when it can be reached). */
  readonly remove: (machine: string) => Effect.Effect<void, NotFound>
  /** Re-reads the relay section of config.yaml and redials (a rotated key, a new relay). */
  readonly reconnect: Effect.Effect<void>
}>() {}

/** How long a join code lives. */
export const MESH_CODE_TTL_MS = 10 * 60_000
