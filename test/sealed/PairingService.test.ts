import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, TestClock } from "effect"
import { DevicesLive } from "../../src/layers/sealed/DevicesLive.js"
import { SealedIdentityMemory } from "../../src/layers/sealed/IdentityLive.js"
import { PairingLive } from "../../src/layers/sealed/PairingLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { equalBytes, utf8 } from "../../src/protocol/sealed/Bytes.js"
import { fingerprintOf, pairingPsk, parsePairingSecret, startPairing } from "../../src/protocol/sealed/Pairing.js"
import { generateKeyPair, type KeyPair } from "../../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"
import { Devices } from "../../src/services/Devices.js"
import { Pairing } from "../../src/services/Pairing.js"
import { SealedIdentity } from "../../src/services/SealedIdentity.js"

const layer = Layer.mergeAll(PairingLive, DevicesLive).pipe(
  Layer.provideMerge(SealedIdentityMemory),
  Layer.provideMerge(SqliteMemory)
)

/** The browser's side against the service: the secret's key may be replaced by a wrong one. */
const pairAs = (browser: KeyPair, secretText: string, options: { readonly wrongKey?: boolean } = {}) =>
  Effect.gen(function*() {
    const pairing = yield* Pairing
    const secret = parsePairingSecret(secretText)!
    const key = options.wrongKey ? new Uint8Array(32).fill(1) : secret.key
    const handshake = yield* startPairing(browser, yield* pairingPsk(key))
    const reply = yield* pairing.begin(secret.id, yield* handshake.writeMessage(new Uint8Array(0)))
    yield* handshake.readMessage(reply)
    const done = yield* pairing.finish(secret.id, yield* handshake.writeMessage(utf8("test laptop")))
    const opened = yield* (yield* SealedSession.fromHandshake(handshake.complete!).incoming(0)).open(done.confirmation)
    return { ...done, opened, daemonKey: handshake.complete!.remoteStatic }
  })

const mint = Effect.map(Effect.flatMap(Pairing, (p) => p.mint), (t) => ({ ...t, text: Redacted.value(t.secret) }))
const devices = Effect.flatMap(Devices, (d) => d.list)

describe("Pairing and Devices (SQLite in memory, TestClock)", () => {
  it.effect("a secret pairs a browser once: the device is stored and the confirmation opens", () =>
    Effect.gen(function*() {
      const browser = yield* generateKeyPair()
      const ticket = yield* mint
      assert.strictEqual(ticket.expiresAt, 10 * 60_000)
      const done = yield* pairAs(browser, ticket.text)
      const identity = yield* SealedIdentity
      assert.isTrue(equalBytes(done.daemonKey, identity.staticKey.publicKey))
      assert.strictEqual(done.device.label, "test laptop")
      assert.strictEqual(done.device.fingerprint, yield* fingerprintOf(browser.publicKey))
      assert.strictEqual(done.opened._tag, "Data")
      const confirmed = JSON.parse(new TextDecoder().decode((done.opened as { data: Uint8Array }).data))
      assert.deepStrictEqual(confirmed, { device_id: done.device.id, daemon_fingerprint: identity.fingerprint })
      assert.deepStrictEqual((yield* devices).map((d) => d.id), [done.device.id])

      const reused = yield* Effect.flip(pairAs(yield* generateKeyPair(), ticket.text))
      assert.strictEqual(reused._tag, "PairingRefused")
      assert.match(reused.message, /already used/)
      assert.strictEqual((yield* devices).length, 1)
    }).pipe(Effect.provide(layer)))

  it.effect("an expired secret is refused and stores nothing", () =>
    Effect.gen(function*() {
      const ticket = yield* mint
      yield* TestClock.adjust("10 minutes")
      const error = yield* Effect.flip(pairAs(yield* generateKeyPair(), ticket.text))
      assert.strictEqual(error._tag, "PairingRefused")
      assert.match(error.message, /expired/)
      assert.deepStrictEqual(yield* devices, [])
    }).pipe(Effect.provide(layer)))

  it.effect("a secret that expires between the first and the last message is refused at the last", () =>
    Effect.gen(function*() {
      const pairing = yield* Pairing
      const ticket = yield* mint
      const secret = parsePairingSecret(ticket.text)!
      const handshake = yield* startPairing(yield* generateKeyPair(), yield* pairingPsk(secret.key))
      yield* handshake.readMessage(yield* pairing.begin(secret.id, yield* handshake.writeMessage(new Uint8Array(0))))
      yield* TestClock.adjust("10 minutes")
      const error = yield* Effect.flip(pairing.finish(secret.id, yield* handshake.writeMessage(new Uint8Array(0))))
      assert.strictEqual(error._tag, "PairingRefused")
      assert.match(error.message, /expired/)
      assert.deepStrictEqual(yield* devices, [])
    }).pipe(Effect.provide(layer)))

  it.effect("a wrong key fails the handshake and spends nothing: the right key still pairs", () =>
    Effect.gen(function*() {
      const browser = yield* generateKeyPair()
      const ticket = yield* mint
      const error = yield* Effect.flip(pairAs(browser, ticket.text, { wrongKey: true }))
      assert.strictEqual(error._tag, "HandshakeFailed")
      assert.deepStrictEqual(yield* devices, [])
      yield* pairAs(browser, ticket.text)
      assert.strictEqual((yield* devices).length, 1)
    }).pipe(Effect.provide(layer)))

  it.effect("an unknown secret is refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(pairAs(yield* generateKeyPair(), "AAAAAAAAAAAA." + "A".repeat(43)))
      assert.strictEqual(error._tag, "PairingRefused")
      assert.match(error.message, /not known/)
    }).pipe(Effect.provide(layer)))

  it.effect("revoking a device keeps it listed, marked, and its key no longer admitted", () =>
    Effect.gen(function*() {
      const browser = yield* generateKeyPair()
      const { device } = yield* pairAs(browser, (yield* mint).text)
      const store = yield* Devices
      yield* TestClock.adjust("1 minute")
      const admitted = yield* store.admit(browser.publicKey)
      assert.strictEqual(Option.getOrThrow(admitted).last_seen, new Date(60_000).toISOString())
      const revoked = yield* store.revoke(device.id)
      assert.strictEqual(revoked.revoked_at, new Date(60_000).toISOString())
      assert.isTrue(Option.isNone(yield* store.admit(browser.publicKey)))
      assert.strictEqual((yield* Effect.flip(store.revoke(device.id)))._tag, "DeviceNotFound")
      assert.strictEqual((yield* Effect.flip(store.revoke("dev_nope")))._tag, "DeviceNotFound")
      assert.deepStrictEqual((yield* devices).map((d) => [d.id, d.revoked_at !== null]), [[device.id, true]])
    }).pipe(Effect.provide(layer)))
})
