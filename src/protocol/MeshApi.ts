import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { BadRequestBody, ForbiddenBody, NotFoundBody, PairingRefusedBody, UnavailableBody } from "./Errors.js"
import { Joined, JoinRequest, MeshCode, MeshLinks } from "./MeshWire.js"

/** The local human credential (or the auth token), checked by the handler: a missing one is 403, not 400. */
const HumanHeaders = Schema.Struct({ "x-repowire-human-credential": Schema.optional(Schema.String) })

/** One mesh across machines (SPEC §12): local-only, a human's, never through the relay tunnel. */
export class MeshGroup extends HttpApiGroup.make("mesh")
  .add(
    HttpApiEndpoint.post("pair", "/mesh/pair").setHeaders(HumanHeaders).addSuccess(MeshCode, { status: 201 })
      .addError(ForbiddenBody).addError(UnavailableBody)
  )
  .add(
    HttpApiEndpoint.post("join", "/mesh/join").setHeaders(HumanHeaders).setPayload(JoinRequest).addSuccess(Joined)
      .addError(ForbiddenBody).addError(PairingRefusedBody).addError(UnavailableBody).addError(BadRequestBody)
  )
  .add(
    HttpApiEndpoint.get("links", "/mesh/links").setHeaders(HumanHeaders).addSuccess(MeshLinks).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.del("remove", "/mesh/links/:machine").setPath(Schema.Struct({ machine: Schema.String }))
      .setHeaders(HumanHeaders).addSuccess(Schema.Struct({ removed: Schema.String })).addError(ForbiddenBody)
      .addError(NotFoundBody)
  )
{}
