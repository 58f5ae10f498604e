import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import { Mesh } from "../../services/Mesh.js"
import { localHuman } from "./SealedHandlers.js"

export const MeshHandlers = HttpApiBuilder.group(DaemonApi, "mesh", (handlers) =>
  Effect.gen(function*() {
    const mesh = yield* Mesh
    return handlers
      .handle("pair", ({ headers }) =>
        Effect.zipRight(
          localHuman(headers),
          Effect.map(
            mesh.pair,
            (ticket) => ({ code: ticket.code, expires_at: new Date(ticket.expiresAt).toISOString() })
          )
        ))
      .handle("join", ({ headers, payload }) => Effect.zipRight(localHuman(headers), mesh.join(payload.code)))
      .handle(
        "links",
        ({ headers }) => Effect.zipRight(localHuman(headers), Effect.map(mesh.list, (links) => ({ links })))
      )
      .handle(
        "remove",
        ({ headers, path }) =>
          Effect.zipRight(localHuman(headers), Effect.as(mesh.remove(path.machine), { removed: path.machine }))
      )
  }))
