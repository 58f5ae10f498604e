import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { equalBytes, utf8 } from "../../src/protocol/sealed/Bytes.js"
import {
  acceptPairing,
  acceptSession,
  formatPairingSecret,
  newPairingSecret,
  pairingPsk,
  parsePairingSecret,
  pinnedTo,
  readPinned,
  startPairing,
  startSession
} from "../../src/protocol/sealed/Pairing.js"
import { generateKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"

const keys = Effect.all({ browser: generateKeyPair(), daemon: generateKeyPair() })

describe("pairing (XXpsk3) and sessions (XX)", () => {
  it("a pairing secret survives its link form; anything else is refused", () => {
    const secret = newPairingSecret()
    const parsed = parsePairingSecret(formatPairingSecret(secret))!
    assert.strictEqual(parsed.id, secret.id)
    assert.isTrue(equalBytes(parsed.key, secret.key))
    for (const bad of ["", secret.id, `${formatPairingSecret(secret)}.x`, `${secret.id}.short`, "a.b"]) {
      assert.isUndefined(parsePairingSecret(bad), bad)
    }
  })

  it.effect("a full pairing: each side learns the other's key, and the daemon's confirmation opens", () =>
    Effect.gen(function*() {
      const { browser, daemon } = yield* keys
      const secret = newPairingSecret()
      const psk = yield* pairingPsk(secret.key)
      const b = yield* startPairing(browser, psk)
      const d = yield* acceptPairing(daemon, psk)
      yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
      yield* b.readMessage(yield* d.writeMessage(new Uint8Array(0)))
      assert.deepStrictEqual(yield* d.readMessage(yield* b.writeMessage(utf8("laptop"))), utf8("laptop"))
      assert.isTrue(equalBytes(d.complete!.remoteStatic, browser.publicKey))
      assert.isTrue(equalBytes(b.complete!.remoteStatic, daemon.publicKey))

      const daemonSide = SealedSession.fromHandshake(d.complete!)
      const browserSide = SealedSession.fromHandshake(b.complete!)
      const confirm = yield* (yield* daemonSide.outgoing(0)).seal(utf8("paired"))
      const opened = yield* (yield* browserSide.incoming(0)).open(confirm)
      assert.deepStrictEqual(opened, { _tag: "Data", data: utf8("paired") })
    }))

  it.effect("a wrong psk fails the daemon's read of the last message, as HandshakeFailed decrypt", () =>
    Effect.gen(function*() {
      const { browser, daemon } = yield* keys
      const b = yield* startPairing(browser, yield* pairingPsk(newPairingSecret().key))
      const d = yield* acceptPairing(daemon, yield* pairingPsk(newPairingSecret().key))
      yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
      yield* b.readMessage(yield* d.writeMessage(new Uint8Array(0)))
      const error = yield* Effect.flip(d.readMessage(yield* b.writeMessage(new Uint8Array(0))))
      assert.strictEqual(error._tag, "HandshakeFailed")
      assert.strictEqual(error.reason, "decrypt")
      assert.isUndefined(d.complete)
      // A failed handshake is dead: nothing more is read or written.
      assert.strictEqual((yield* Effect.flip(d.writeMessage(new Uint8Array(0)))).reason, "out_of_turn")
    }))

  it.effect("a session between pinned keys opens, with per-stream keys in each direction", () =>
    Effect.gen(function*() {
      const { browser, daemon } = yield* keys
      const b = yield* startSession(browser)
      const d = yield* acceptSession(daemon)
      yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
      yield* readPinned(b, yield* d.writeMessage(new Uint8Array(0)), pinnedTo(daemon.publicKey))
      yield* readPinned(d, yield* b.writeMessage(new Uint8Array(0)), pinnedTo(browser.publicKey))
      const bs = SealedSession.fromHandshake(b.complete!)
      const ds = SealedSession.fromHandshake(d.complete!)
      const request = yield* (yield* bs.outgoing(7)).seal(utf8("GET /peers"))
      assert.deepStrictEqual(yield* (yield* ds.incoming(7)).open(request), { _tag: "Data", data: utf8("GET /peers") })
      // Another stream has another key: its record does not open there.
      const other = yield* (yield* bs.outgoing(8)).seal(utf8("x"))
      assert.strictEqual((yield* Effect.flip((yield* ds.incoming(9)).open(other)))._tag, "RecordAltered")
      // A stream id is used once per direction.
      assert.strictEqual((yield* Effect.flip(bs.outgoing(7)))._tag, "StreamClosed")
      assert.strictEqual((yield* Effect.flip(ds.incoming(7)))._tag, "StreamClosed")
    }))

  it.effect("the browser refuses a daemon key it did not pair with, before revealing its own", () =>
    Effect.gen(function*() {
      const { browser, daemon } = yield* keys
      const impostor = yield* generateKeyPair()
      const b = yield* startSession(browser)
      const d = yield* acceptSession(impostor)
      yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
      const error = yield* Effect.flip(
        readPinned(b, yield* d.writeMessage(new Uint8Array(0)), pinnedTo(daemon.publicKey))
      )
      assert.strictEqual(error._tag, "HandshakeFailed")
      assert.strictEqual(error.reason, "unpinned_key")
    }))

  it.effect("the daemon refuses a browser key that is not a paired device", () =>
    Effect.gen(function*() {
      const { browser, daemon } = yield* keys
      const paired = yield* generateKeyPair()
      const b = yield* startSession(browser)
      const d = yield* acceptSession(daemon)
      yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
      yield* readPinned(b, yield* d.writeMessage(new Uint8Array(0)), pinnedTo(daemon.publicKey))
      const error = yield* Effect.flip(
        readPinned(d, yield* b.writeMessage(new Uint8Array(0)), pinnedTo(paired.publicKey))
      )
      assert.strictEqual(error.reason, "unpinned_key")
    }))
})
