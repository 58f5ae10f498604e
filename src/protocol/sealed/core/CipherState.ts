import { aesKey, decrypt, encrypt } from "./Crypto.js"
import { NonceExhausted } from "./Failures.js"

/** 2^64-1 is reserved by Noise (§5.1): a CipherState never encrypts with it. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn

/**
 * Noise's CipherState (§5.1): a key k (or none) and a 64-bit counter n. With no key,
 * encryption is the identity, as during the first handshake messages.
 */
export class CipherState {
  private k: Uint8Array | undefined = undefined
  private key: CryptoKey | undefined = undefined
  private n = 0n

  static readonly initializeKey = async (k: Uint8Array | undefined): Promise<CipherState> => {
    const state = new CipherState()
    state.k = k
    state.key = k === undefined ? undefined : await aesKey(k)
    return state
  }

  hasKey(): boolean {
    return this.key !== undefined
  }

  get nonce(): bigint {
    return this.n
  }

  setNonce(n: bigint): void {
    this.n = n
  }

  /** Rejects with NonceExhausted. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const key = this.key
    if (key === undefined) return Promise.resolve(plaintext)
    if (this.n >= MAX_NONCE) return Promise.reject(new NonceExhausted())
    const n = this.n
    // Counted before the (asynchronous) encryption starts: two calls never share a nonce.
    this.n = n + 1n
    return encrypt(key, n, ad, plaintext)
  }

  /** Rejects with DecryptFailed or NonceExhausted; on failure the counter stays where it was (Noise §5.1). */
  async decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    const key = this.key
    if (key === undefined) return ciphertext
    if (this.n >= MAX_NONCE) throw new NonceExhausted()
    const n = this.n
    const plaintext = await decrypt(key, n, ad, ciphertext)
    this.n = n + 1n
    return plaintext
  }

  /** The raw key, for deriving per-stream keys from a transport key. */
  get rawKey(): Uint8Array | undefined {
    return this.k
  }
}
