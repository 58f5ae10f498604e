import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { IdPath } from "./ApiParams.js"
import { DeviceNotFoundBody, ForbiddenBody, PairingRefusedBody } from "./Errors.js"
import { DeviceList, PairedDevice, PairingDone, PairingMessage, PairingReply, PairingTicket } from "./sealed/Devices.js"

/** The local human credential (or the auth token), checked by the handler: a missing one is 403, not 400. */
const HumanHeaders = Schema.Struct({ "x-repowire-human-credential": Schema.optional(Schema.String) })

/**
 * The sealed tunnel's pairing (SPEC §9). Minting secrets and managing devices are local-only
 * and need the local human credential; they are off the tunnel allow-list. The two handshake
 * steps are authenticated by the pairing secret itself (the Noise psk).
 */
export class SealedGroup extends HttpApiGroup.make("sealed")
  .add(
    HttpApiEndpoint.post("pair", "/relay/pair").setHeaders(HumanHeaders).addSuccess(PairingTicket, { status: 201 })
      .addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.get("devices", "/relay/devices").setHeaders(HumanHeaders).addSuccess(DeviceList).addError(
      ForbiddenBody
    )
  )
  .add(
    HttpApiEndpoint.del("revoke", "/relay/devices/:id").setPath(IdPath).setHeaders(HumanHeaders)
      .addSuccess(PairedDevice).addError(ForbiddenBody).addError(DeviceNotFoundBody)
  )
  .add(
    HttpApiEndpoint.post("begin", "/sealed/pair/begin").setPayload(PairingMessage).addSuccess(PairingReply)
      .addError(PairingRefusedBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("finish", "/sealed/pair/finish").setPayload(PairingMessage).addSuccess(PairingDone)
      .addError(PairingRefusedBody).addError(ForbiddenBody)
  )
{}
