import { concat, utf8 } from "../Bytes.js"
import { CipherState } from "./CipherState.js"
import { hash, HASHLEN, hkdf2, hkdf3 } from "./Crypto.js"

/** Noise's SymmetricState (§5.2): the chaining key ck, the handshake hash h and a CipherState. */
export class SymmetricState {
  private constructor(private ck: Uint8Array, private h: Uint8Array, private cipher: CipherState) {}

  static readonly initialize = async (protocolName: string): Promise<SymmetricState> => {
    const name = utf8(protocolName)
    const h = name.length <= HASHLEN ? concat(name, new Uint8Array(HASHLEN - name.length)) : await hash(name)
    return new SymmetricState(h, h, await CipherState.initializeKey(undefined))
  }

  get handshakeHash(): Uint8Array {
    return this.h
  }

  hasKey(): boolean {
    return this.cipher.hasKey()
  }

  async mixKey(ikm: Uint8Array): Promise<void> {
    const [ck, tempK] = await hkdf2(this.ck, ikm)
    this.ck = ck
    this.cipher = await CipherState.initializeKey(tempK)
  }

  async mixHash(data: Uint8Array): Promise<void> {
    this.h = await hash(concat(this.h, data))
  }

  async mixKeyAndHash(ikm: Uint8Array): Promise<void> {
    const [ck, tempH, tempK] = await hkdf3(this.ck, ikm)
    this.ck = ck
    await this.mixHash(tempH)
    this.cipher = await CipherState.initializeKey(tempK)
  }

  async encryptAndHash(plaintext: Uint8Array): Promise<Uint8Array> {
    const ciphertext = await this.cipher.encryptWithAd(this.h, plaintext)
    await this.mixHash(ciphertext)
    return ciphertext
  }

  async decryptAndHash(ciphertext: Uint8Array): Promise<Uint8Array> {
    const plaintext = await this.cipher.decryptWithAd(this.h, ciphertext)
    await this.mixHash(ciphertext)
    return plaintext
  }

  /** The two transport CipherStates: initiator-to-responder first. */
  async split(): Promise<readonly [CipherState, CipherState]> {
    const [k1, k2] = await hkdf2(this.ck, new Uint8Array(0))
    return [await CipherState.initializeKey(k1), await CipherState.initializeKey(k2)] as const
  }
}
