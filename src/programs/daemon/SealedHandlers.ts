import { HttpApiBuilder } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import { Forbidden, PairingRefused } from "../../protocol/Errors.js"
import { fromBase64Url, toBase64Url } from "../../protocol/sealed/Bytes.js"
import type { HandshakeFailed } from "../../protocol/sealed/SealedErrors.js"
import { AuthToken } from "../../services/AuthToken.js"
import { Devices } from "../../services/Devices.js"
import { Pairing } from "../../services/Pairing.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { SealedIdentity } from "../../services/SealedIdentity.js"

/** Minting secrets and managing devices never go through the relay; the handshake itself does. */
const localOnly = Effect.flatMap(Tunnelled, (tunnelled) =>
  tunnelled
    ? Effect.fail(new Forbidden({ message: "pairing and paired devices are managed on the daemon's machine only" }))
    : Effect.void)

/** Admin routes: local, and a human's (the local human credential or the daemon's auth token). */
export const localHuman = (headers: { readonly "x-repowire-human-credential"?: string | undefined }) =>
  Effect.zipRight(
    localOnly,
    Effect.flatMap(AuthToken, (auth) =>
      auth.humanCredentialValid(headers["x-repowire-human-credential"])
        ? Effect.void
        : Effect.fail(
          new Forbidden({
            message: "managing pairing needs the local human credential ($REPOWIRE_HOME/human.token) " +
              "in x-repowire-human-credential"
          })
        ))
  )

const messageOf = (text: string) => {
  const bytes = fromBase64Url(text)
  return bytes === undefined
    ? Effect.fail(new PairingRefused({ message: "the pairing message is not base64url" }))
    : Effect.succeed(bytes)
}

/** A failed handshake tells the page what to do, never which step or key failed. */
const refusedHandshake = (_: HandshakeFailed) =>
  new PairingRefused({
    message: "the pairing handshake failed (a wrong secret or an altered message); nothing was stored"
  })

export const SealedHandlers = HttpApiBuilder.group(DaemonApi, "sealed", (handlers) =>
  Effect.gen(function*() {
    const pairing = yield* Pairing
    const devices = yield* Devices
    const identity = yield* SealedIdentity
    return handlers
      .handle("pair", ({ headers }) =>
        Effect.zipRight(
          localHuman(headers),
          Effect.map(pairing.mint, (ticket) => ({
            secret: Redacted.value(ticket.secret),
            expires_at: new Date(ticket.expiresAt).toISOString(),
            daemon_fingerprint: identity.fingerprint
          }))
        ))
      .handle("devices", ({ headers }) =>
        Effect.zipRight(localHuman(headers), Effect.map(devices.list, (list) => ({ devices: list }))))
      .handle("revoke", ({ headers, path }) =>
        Effect.zipRight(localHuman(headers), devices.revoke(path.id)))
      .handle("begin", ({ payload }) =>
        Effect.gen(function*() {
          const reply = yield* pairing.begin(payload.secret_id, yield* messageOf(payload.message)).pipe(
            Effect.catchTag("HandshakeFailed", (e) => Effect.fail(refusedHandshake(e)))
          )
          return { message: toBase64Url(reply) }
        }))
      .handle("finish", ({ payload }) =>
        Effect.gen(function*() {
          const done = yield* pairing.finish(payload.secret_id, yield* messageOf(payload.message)).pipe(
            Effect.catchTag("HandshakeFailed", (e) => Effect.fail(refusedHandshake(e)))
          )
          return { device_id: done.device.id, confirmation: toBase64Url(done.confirmation) }
        }))
  }))
