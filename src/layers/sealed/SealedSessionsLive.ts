import { Effect, Layer, Option } from "effect"
import type { PairedDevice } from "../../protocol/sealed/Devices.js"
import { acceptSession, readPinned } from "../../protocol/sealed/Pairing.js"
import { SealedSession } from "../../protocol/sealed/Session.js"
import { Devices } from "../../services/Devices.js"
import { SealedIdentity } from "../../services/SealedIdentity.js"
import { SealedSessions } from "../../services/SealedSessions.js"

/** Session handshakes against the paired devices; the handshake state lives in the caller's hands. */
export const SealedSessionsLive = Layer.effect(
  SealedSessions,
  Effect.gen(function*() {
    const identity = yield* SealedIdentity
    const devices = yield* Devices
    const begin = Effect.fn("SealedSessions.begin")(function*(message: Uint8Array) {
      const handshake = yield* acceptSession(identity.staticKey)
      yield* handshake.readMessage(message)
      const reply = yield* handshake.writeMessage(new Uint8Array(0))
      const finish = Effect.fn("SealedSessions.finish")(function*(last: Uint8Array) {
        let device: Option.Option<PairedDevice> = Option.none()
        yield* readPinned(handshake, last, (key) =>
          Effect.map(devices.admit(key), (found) => {
            device = found
            return Option.isSome(found)
          }))
        const paired = Option.getOrThrow(device)
        return {
          session: SealedSession.fromHandshake(handshake.complete!),
          device: paired,
          revoked: devices.revoked(paired.id)
        }
      })
      return { reply, finish }
    })
    return SealedSessions.of({ begin })
  })
)
