import { Context, type Effect } from "effect"
import type { Forbidden, PeerNotFound, RoleTaken } from "../protocol/Errors.js"
import type { ClaimRole, Peer } from "../protocol/Peer.js"

/**
 * Roles a peer claims rather than registers with: `orchestrator`, one live holder per circle,
 * which reaches every circle (layers/Reach.ts).
 */
export class Roles extends Context.Tag("repowire/Roles")<Roles, {
  /** `target` takes `request.role` in `request.circle` (default: its own circle). */
  readonly claim: (target: Peer, request: ClaimRole) => Effect.Effect<Peer, RoleTaken | PeerNotFound | Forbidden>
}>() {}
