import { Effect } from "effect"
import { aesKey, decrypt, DecryptFailed, encrypt } from "./Primitives.js"

/** 2^64-1 is reserved by Noise (§5.1): a CipherState never encrypts with it. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn

/** The counter reached its reserved maximum: the key must be replaced before it is used again. */
export class NonceExhausted {
  readonly _tag = "NonceExhausted"
}

/**
 * Noise's CipherState (§5.1): a key k (or none) and a 64-bit counter n. With no key,
 * encryption is the identity, as during the first handshake messages.
 */
export class CipherState {
  private k: Uint8Array | undefined = undefined
  private key: CryptoKey | undefined = undefined
  private n = 0n

  static readonly initializeKey = (k: Uint8Array | undefined) =>
    Effect.map(k === undefined ? Effect.succeed(undefined) : aesKey(k), (key) => {
      const state = new CipherState()
      state.k = k
      state.key = key
      return state
    })

  hasKey(): boolean {
    return this.key !== undefined
  }

  get nonce(): bigint {
    return this.n
  }

  setNonce(n: bigint): void {
    this.n = n
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Effect.Effect<Uint8Array, NonceExhausted> {
    const key = this.key
    if (key === undefined) return Effect.succeed(plaintext)
    if (this.n >= MAX_NONCE) return Effect.fail(new NonceExhausted())
    const n = this.n
    // Counted before the (asynchronous) encryption starts: two calls never share a nonce.
    this.n = n + 1n
    return encrypt(key, n, ad, plaintext)
  }

  /** On failure the counter stays where it was (Noise §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Effect.Effect<Uint8Array, DecryptFailed | NonceExhausted> {
    const key = this.key
    if (key === undefined) return Effect.succeed(ciphertext)
    if (this.n >= MAX_NONCE) return Effect.fail(new NonceExhausted())
    const n = this.n
    return Effect.tap(decrypt(key, n, ad, ciphertext), () => {
      this.n = n + 1n
    })
  }

  /** The raw key, for deriving per-stream keys from a transport key. */
  get rawKey(): Uint8Array | undefined {
    return this.k
  }
}
