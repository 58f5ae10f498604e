import { Effect } from "effect"
import * as Core from "./core/CipherState.js"
import { DecryptFailed } from "./core/Crypto.js"
import { NonceExhausted } from "./core/Failures.js"

export { MAX_NONCE } from "./core/CipherState.js"
export { NonceExhausted } from "./core/Failures.js"

/**
 * Noise's CipherState (§5.1) as effects: the Effect-free core's (./core/CipherState.ts), whose
 * rejections become these typed failures.
 */
export class CipherState {
  constructor(readonly core: Core.CipherState) {}

  static readonly initializeKey = (k: Uint8Array | undefined): Effect.Effect<CipherState> =>
    Effect.promise(() => Core.CipherState.initializeKey(k).then((core) => new CipherState(core)))

  hasKey(): boolean {
    return this.core.hasKey()
  }

  get nonce(): bigint {
    return this.core.nonce
  }

  setNonce(n: bigint): void {
    this.core.setNonce(n)
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Effect.Effect<Uint8Array, NonceExhausted> {
    // Started at once, as Noise's counter is taken when the encryption is asked for.
    const sealing = this.core.encryptWithAd(ad, plaintext)
    sealing.catch(() => undefined)
    return Effect.tryPromise({ try: () => sealing, catch: (e) => e }).pipe(
      Effect.catchAll((e) => (e instanceof NonceExhausted ? Effect.fail(e) : Effect.die(e)))
    )
  }

  /** On failure the counter stays where it was (Noise §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Effect.Effect<Uint8Array, DecryptFailed | NonceExhausted> {
    return Effect.tryPromise({ try: () => this.core.decryptWithAd(ad, ciphertext), catch: (e) => e }).pipe(
      Effect.catchAll((e) => e instanceof NonceExhausted || e instanceof DecryptFailed ? Effect.fail(e) : Effect.die(e))
    )
  }

  /** The raw key, for deriving per-stream keys from a transport key. */
  get rawKey(): Uint8Array | undefined {
    return this.core.rawKey
  }
}
