import { Context, type Effect } from "effect"
import type { KeyPair } from "../protocol/sealed/Primitives.js"

/**
 * The daemon's long-term identity: an X25519 key pair for the sealed tunnel's handshakes and
 * an Ed25519 pair for signatures. Made on first use; only the public halves ever leave.
 */
export class SealedIdentity extends Context.Tag("repowire/SealedIdentity")<SealedIdentity, {
  /** The static key of every pairing and session handshake. */
  readonly staticKey: KeyPair
  /** SHA-256 of the X25519 public key, hex: what `relay pair` prints and the page shows. */
  readonly fingerprint: string
  readonly signingPublicKey: Uint8Array
  readonly sign: (data: Uint8Array) => Effect.Effect<Uint8Array>
}>() {}
