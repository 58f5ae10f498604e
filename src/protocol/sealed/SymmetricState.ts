import { Effect } from "effect"
import { concat, utf8 } from "./Bytes.js"
import { CipherState, type NonceExhausted } from "./CipherState.js"
import { type DecryptFailed, hash, HASHLEN, hkdf2, hkdf3 } from "./Primitives.js"

/** Noise's SymmetricState (§5.2): the chaining key ck, the handshake hash h and a CipherState. */
export class SymmetricState {
  private constructor(private ck: Uint8Array, private h: Uint8Array, private cipher: CipherState) {}

  static readonly initialize = (protocolName: string) =>
    Effect.gen(function*() {
      const name = utf8(protocolName)
      const h = name.length <= HASHLEN ? concat(name, new Uint8Array(HASHLEN - name.length)) : yield* hash(name)
      return new SymmetricState(h, h, yield* CipherState.initializeKey(undefined))
    })

  get handshakeHash(): Uint8Array {
    return this.h
  }

  hasKey(): boolean {
    return this.cipher.hasKey()
  }

  mixKey(ikm: Uint8Array): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const [ck, tempK] = yield* hkdf2(this.ck, ikm)
      this.ck = ck
      this.cipher = yield* CipherState.initializeKey(tempK)
    })
  }

  mixHash(data: Uint8Array): Effect.Effect<void> {
    return Effect.map(hash(concat(this.h, data)), (h) => {
      this.h = h
    })
  }

  mixKeyAndHash(ikm: Uint8Array): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const [ck, tempH, tempK] = yield* hkdf3(this.ck, ikm)
      this.ck = ck
      yield* this.mixHash(tempH)
      this.cipher = yield* CipherState.initializeKey(tempK)
    })
  }

  encryptAndHash(plaintext: Uint8Array): Effect.Effect<Uint8Array, NonceExhausted> {
    return Effect.tap(this.cipher.encryptWithAd(this.h, plaintext), (ciphertext) => this.mixHash(ciphertext))
  }

  decryptAndHash(ciphertext: Uint8Array): Effect.Effect<Uint8Array, DecryptFailed | NonceExhausted> {
    const h = this.h
    return Effect.tap(this.cipher.decryptWithAd(h, ciphertext), () => this.mixHash(ciphertext))
  }

  /** The two transport CipherStates: initiator-to-responder first. */
  split(): Effect.Effect<readonly [CipherState, CipherState]> {
    return Effect.gen(this, function*() {
      const [k1, k2] = yield* hkdf2(this.ck, new Uint8Array(0))
      return [yield* CipherState.initializeKey(k1), yield* CipherState.initializeKey(k2)] as const
    })
  }
}
