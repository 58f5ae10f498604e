import { equalBytes, fromBase64Url, toBase64Url, toHex, utf8 } from "../Bytes.js"
import { hash, hmac, type KeyPair } from "./Crypto.js"
import { HandshakeError } from "./Failures.js"
import { Handshake, type HandshakeOptions } from "./Handshake.js"

/**
 * The two handshakes of the sealed tunnel. The browser initiates both; the daemon responds.
 *
 * Pairing, Noise_XXpsk3: the psk comes from the one-time pairing secret, so finishing proves
 * the browser knows it; the daemon's static key is authenticated by es and by the psk-keyed
 * confirmation the daemon sends as its first transport record. Each side learns the other's
 * static key; the daemon keeps the browser's as a paired device.
 *
 * Session, Noise_XX: each side refuses a static key it has not pinned (the browser: the daemon
 * key it paired with, checked before it reveals its own; the daemon: a paired, unrevoked device).
 */

export const PAIRING_PROLOGUE = utf8("repowire/sealed/pairing/v1")
export const SESSION_PROLOGUE = utf8("repowire/sealed/session/v1")
const PSK_LABEL = utf8("repowire/sealed/pairing-psk/v1")

/**
 * A pairing secret as the link carries it: `<id>.<key>`, both base64url. The id names the
 * secret to the daemon (it travels in clear); the key never leaves the link and the page.
 */
export interface PairingSecret {
  readonly id: string
  readonly key: Uint8Array
}

const ID_BYTES = 9
const KEY_BYTES = 32

export const newPairingSecret = (): PairingSecret => ({
  id: toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(ID_BYTES))),
  key: globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES))
})

export const formatPairingSecret = (secret: PairingSecret) => `${secret.id}.${toBase64Url(secret.key)}`

export const parsePairingSecret = (text: string): PairingSecret | undefined => {
  const [id, key, ...rest] = text.trim().split(".")
  if (id === undefined || key === undefined || rest.length > 0) return undefined
  const idBytes = fromBase64Url(id)
  const keyBytes = fromBase64Url(key)
  return idBytes?.length === ID_BYTES && keyBytes?.length === KEY_BYTES ? { id, key: keyBytes } : undefined
}

/** The 32-byte Noise psk of a pairing secret's key: HMAC-SHA256 under the key, of a fixed label. */
export const pairingPsk = (key: Uint8Array) => hmac(key, PSK_LABEL)

/** The options of each of the four roles (browser or daemon, pairing or session). */
export const pairingOptions = (s: KeyPair, psk: Uint8Array, initiator: boolean): HandshakeOptions => ({
  pattern: "XXpsk3",
  initiator,
  prologue: PAIRING_PROLOGUE,
  s,
  psk
})

export const sessionOptions = (s: KeyPair, initiator: boolean): HandshakeOptions => ({
  pattern: "XX",
  initiator,
  prologue: SESSION_PROLOGUE,
  s
})

/** The browser's side of pairing. */
export const startPairing = (s: KeyPair, psk: Uint8Array) => Handshake.make(pairingOptions(s, psk, true))

/** The browser's side of a session. */
export const startSession = (s: KeyPair) => Handshake.make(sessionOptions(s, true))

/**
 * Reads the peer's next handshake message and then insists its static key is `expected` (the
 * browser's pin on its daemon, on the message that carries the daemon's key).
 */
export const readPinnedTo = async (handshake: Handshake, message: Uint8Array, expected: Uint8Array) => {
  const payload = await handshake.readMessage(message)
  const key = handshake.remoteStatic
  if (key === undefined || !equalBytes(key, expected)) {
    throw new HandshakeError("unpinned_key", "the peer's static key is not pinned")
  }
  return payload
}

/** How a static key is shown to people: SHA-256 of the public key, hex. */
export const fingerprintOf = async (publicKey: Uint8Array) => toHex(await hash(publicKey))
