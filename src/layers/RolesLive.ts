import { Effect, Layer } from "effect"
import { Forbidden, RoleTaken } from "../protocol/Errors.js"
import type { ClaimRole, Peer } from "../protocol/Peer.js"
import { PeerRegistry } from "../services/PeerRegistry.js"
import { Roles } from "../services/Roles.js"

export const RolesLive = Layer.effect(
  Roles,
  Effect.gen(function*() {
    const registry = yield* PeerRegistry

    const claim = Effect.fn("Roles.claim")(function*(target: Peer, request: ClaimRole) {
      const circle = request.circle ?? target.circle
      if (target.role !== "agent" && target.role !== "orchestrator") {
        return yield* new Forbidden({
          message: `${target.display_name} is a ${target.role}; only an agent takes a role`
        })
      }
      if (request.role === "agent") {
        return target.role === "orchestrator" ? yield* registry.setRole(target.peer_id, "agent") : target
      }
      // Listed with their status as it is now: a holder gone quiet is already shown offline.
      const holders = (yield* registry.list({ circle, all: true })).filter((p) =>
        p.role === "orchestrator" && p.peer_id !== target.peer_id
      )
      const live = holders.filter((p) => p.status !== "offline")
      if (live.length > 0 && request.force !== true) {
        return yield* new RoleTaken({
          message: `circle ${circle} already has an orchestrator: ${
            live.map((p) => `${p.display_name} (${p.status})`).join(", ")
          }; ` +
            "claim with force to take over"
        })
      }
      yield* Effect.forEach(holders, (p) => registry.setRole(p.peer_id, "agent"), { discard: true })
      const moved = target.circle === circle ? target : yield* registry.setCircle(target.peer_id, circle)
      return moved.role === "orchestrator" ? moved : yield* registry.setRole(target.peer_id, "orchestrator")
    })

    return Roles.of({ claim })
  })
)
