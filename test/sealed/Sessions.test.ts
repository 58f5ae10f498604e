import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted } from "effect"
import { DevicesLive } from "../../src/layers/sealed/DevicesLive.js"
import { SealedIdentityMemory } from "../../src/layers/sealed/IdentityLive.js"
import { PairingLive } from "../../src/layers/sealed/PairingLive.js"
import { SealedSessionsLive } from "../../src/layers/sealed/SealedSessionsLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { utf8 } from "../../src/protocol/sealed/Bytes.js"
import {
  pairingPsk,
  parsePairingSecret,
  pinnedTo,
  readPinned,
  startPairing,
  startSession
} from "../../src/protocol/sealed/Pairing.js"
import { generateKeyPair, type KeyPair } from "../../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"
import { Devices } from "../../src/services/Devices.js"
import { Pairing } from "../../src/services/Pairing.js"
import { SealedIdentity } from "../../src/services/SealedIdentity.js"
import { SealedSessions } from "../../src/services/SealedSessions.js"

const layer = Layer.mergeAll(PairingLive, SealedSessionsLive).pipe(
  Layer.provideMerge(DevicesLive),
  Layer.provideMerge(SealedIdentityMemory),
  Layer.provideMerge(SqliteMemory)
)

const pair = (browser: KeyPair) =>
  Effect.gen(function*() {
    const pairing = yield* Pairing
    const secret = parsePairingSecret(Redacted.value((yield* pairing.mint).secret))!
    const handshake = yield* startPairing(browser, yield* pairingPsk(secret.key))
    yield* handshake.readMessage(yield* pairing.begin(secret.id, yield* handshake.writeMessage(new Uint8Array(0))))
    return (yield* pairing.finish(secret.id, yield* handshake.writeMessage(new Uint8Array(0)))).device
  })

/** The browser opens a session, pinning the daemon's key; the daemon's side as the service runs it. */
const open = (browser: KeyPair) =>
  Effect.gen(function*() {
    const daemonKey = (yield* SealedIdentity).staticKey.publicKey
    const handshake = yield* startSession(browser)
    const daemon = yield* (yield* SealedSessions).begin(yield* handshake.writeMessage(new Uint8Array(0)))
    yield* readPinned(handshake, daemon.reply, pinnedTo(daemonKey))
    const opened = yield* daemon.finish(yield* handshake.writeMessage(new Uint8Array(0)))
    return { opened, browserSide: SealedSession.fromHandshake(handshake.complete!) }
  })

describe("sealed sessions (Noise_XX) against the paired devices", () => {
  it.effect("a paired device opens a session; records flow both ways", () =>
    Effect.gen(function*() {
      const browser = yield* generateKeyPair()
      const device = yield* pair(browser)
      const { browserSide, opened } = yield* open(browser)
      assert.strictEqual(opened.device.id, device.id)
      const request = yield* (yield* browserSide.outgoing(1)).seal(utf8("GET /peers"))
      assert.deepStrictEqual(yield* (yield* opened.session.incoming(1)).open(request), {
        _tag: "Data",
        data: utf8("GET /peers")
      })
      const answer = yield* (yield* opened.session.outgoing(1)).seal(utf8("200"))
      assert.deepStrictEqual(yield* (yield* browserSide.incoming(1)).open(answer), { _tag: "Data", data: utf8("200") })
    }).pipe(Effect.provide(layer)))

  it.effect("an unpaired key is refused at the last message", () =>
    Effect.gen(function*() {
      yield* pair(yield* generateKeyPair())
      const error = yield* Effect.flip(open(yield* generateKeyPair()))
      assert.strictEqual(error._tag, "HandshakeFailed")
      assert.strictEqual((error as { reason: string }).reason, "unpinned_key")
    }).pipe(Effect.provide(layer)))

  it.effect("revoking a device ends its open session's signal at once and refuses its next handshake", () =>
    Effect.gen(function*() {
      const browser = yield* generateKeyPair()
      const device = yield* pair(browser)
      const { opened } = yield* open(browser)
      const waiting = yield* Effect.fork(opened.revoked)
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiting)))
      yield* (yield* Devices).revoke(device.id)
      yield* Fiber.join(waiting)
      const error = yield* Effect.flip(open(browser))
      assert.strictEqual((error as { reason: string }).reason, "unpinned_key")
      // Already revoked: the signal is complete from the start.
      yield* (yield* Devices).revoked(device.id)
    }).pipe(Effect.provide(layer)))
})
