import { Effect, Either, Schema } from "effect"
import { PairingRefused } from "../../protocol/Errors.js"
import { type JoinHello, JoinHelloJson } from "../../protocol/MeshWire.js"
import { concat, toHex, utf8 } from "../../protocol/sealed/Bytes.js"
import { Handshake } from "../../protocol/sealed/Handshake.js"
import { fingerprintOf } from "../../protocol/sealed/Pairing.js"
import type { KeyPair } from "../../protocol/sealed/Primitives.js"
import { SealedSession } from "../../protocol/sealed/Session.js"

/** Distinct from the browser's prologues: a mesh handshake can never be replayed as a pairing or the reverse. */
const JOIN_PROLOGUE = utf8("repowire/mesh/join/v1")
const SESSION_PROLOGUE = utf8("repowire/mesh/session/v1")

export const startJoin = (s: KeyPair, psk: Uint8Array) =>
  Handshake.make({ pattern: "XXpsk3", initiator: true, prologue: JOIN_PROLOGUE, s, psk })
export const acceptJoin = (s: KeyPair, psk: Uint8Array) =>
  Handshake.make({ pattern: "XXpsk3", initiator: false, prologue: JOIN_PROLOGUE, s, psk })
export const startMeshSession = (s: KeyPair) =>
  Handshake.make({ pattern: "XX", initiator: true, prologue: SESSION_PROLOGUE, s })
export const acceptMeshSession = (s: KeyPair) =>
  Handshake.make({ pattern: "XX", initiator: false, prologue: SESSION_PROLOGUE, s })

const decodeHello = Schema.decodeUnknownEither(JoinHelloJson)
const encodeHello = Schema.encodeSync(JoinHelloJson)

export const helloBytes = (hello: JoinHello) => utf8(encodeHello(hello))

export const readHello = (payload: Uint8Array): Effect.Effect<JoinHello, PairingRefused> =>
  Either.match(decodeHello(new TextDecoder().decode(payload)), {
    onLeft: () => Effect.fail(new PairingRefused({ message: "the other daemon's greeting is malformed" })),
    onRight: Effect.succeed
  })

/** The public key and fingerprint a completed handshake learned. */
export const remoteOf = (handshake: Handshake) =>
  Effect.map(fingerprintOf(handshake.complete!.remoteStatic), (fingerprint) => ({
    publicKey: toHex(handshake.complete!.remoteStatic),
    fingerprint
  }))

const CONFIRMED = "repowire/mesh/joined"

/** The pairer's proof that it spent the code and pinned the joiner: sealed under the new session. */
export const sealConfirmation = (handshake: Handshake) =>
  Effect.gen(function*() {
    const sealer = yield* Effect.orDie(SealedSession.fromHandshake(handshake.complete!).outgoing(0))
    return yield* Effect.orDie(sealer.seal(utf8(CONFIRMED)))
  })

export const openConfirmation = (handshake: Handshake, record: Uint8Array) =>
  Effect.gen(function*() {
    const opener = yield* Effect.orDie(SealedSession.fromHandshake(handshake.complete!).incoming(0))
    const opened = yield* Effect.either(opener.open(record))
    return Either.isRight(opened) && opened.right._tag === "Data" &&
      new TextDecoder().decode(opened.right.data) === CONFIRMED
  })

/** `[kind][id length][id][message]`: a join's first message names its code (the id travels in clear). */
export const withCodeId = (kind: number, codeId: string, message: Uint8Array) => {
  const id = utf8(codeId)
  return concat(Uint8Array.of(kind, id.length), id, message)
}

export const splitCodeId = (payload: Uint8Array): { codeId: string; message: Uint8Array } | undefined => {
  const length = payload[1]
  if (length === undefined || payload.length < 2 + length) return undefined
  return { codeId: new TextDecoder().decode(payload.subarray(2, 2 + length)), message: payload.subarray(2 + length) }
}
