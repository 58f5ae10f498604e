import { concat } from "../Bytes.js"
import type { CipherState } from "./CipherState.js"
import { dh, DHLEN, generateKeyPair, type KeyPair } from "./Crypto.js"
import { HandshakeError, type HandshakeReason } from "./Failures.js"
import { SymmetricState } from "./SymmetricState.js"

/**
 * Noise's HandshakeState (§5.3) for the two patterns the sealed tunnel uses (§7.5, §9.4):
 *
 *   XX:       -> e                 XXpsk3:  -> e
 *             <- e, ee, s, es               <- e, ee, s, es
 *             -> s, se                      -> s, se, psk
 *
 * Neither has pre-messages, so initialisation is the protocol name and the prologue only.
 * Plain promises that reject with HandshakeError; ../Handshake.ts is its Effect face.
 */

type Token = "e" | "s" | "ee" | "es" | "se" | "psk"

export const PATTERNS = {
  XX: [["e"], ["e", "ee", "s", "es"], ["s", "se"]],
  XXpsk3: [["e"], ["e", "ee", "s", "es"], ["s", "se", "psk"]]
} as const satisfies Record<string, ReadonlyArray<ReadonlyArray<Token>>>

export type PatternName = keyof typeof PATTERNS

export const protocolName = (pattern: PatternName) => `Noise_${pattern}_25519_AESGCM_SHA256`

/** Noise's limit on any message (§3). */
export const MAX_MESSAGE = 65535
const TAGLEN = 16

export interface HandshakeOptions {
  readonly pattern: PatternName
  readonly initiator: boolean
  readonly prologue: Uint8Array
  /** This party's static key pair. */
  readonly s: KeyPair
  /** The 32-byte pre-shared key, for psk patterns. */
  readonly psk?: Uint8Array | undefined
  /** A fixed ephemeral (test vectors only); otherwise a fresh one is made. */
  readonly e?: KeyPair | undefined
}

/** A completed handshake: this party's sending and receiving CipherStates, and what it learned. */
export interface HandshakeResult {
  readonly send: CipherState
  readonly receive: CipherState
  readonly handshakeHash: Uint8Array
  readonly remoteStatic: Uint8Array
}

const fail = (reason: HandshakeReason, message: string) => new HandshakeError(reason, message)

export class Handshake {
  private index = 0
  private dead = false
  private e: KeyPair | undefined
  private re: Uint8Array | undefined
  private rs: Uint8Array | undefined
  private result: HandshakeResult | undefined

  private constructor(private readonly options: HandshakeOptions, private readonly symmetric: SymmetricState) {
    this.e = options.e
  }

  static readonly make = async (options: HandshakeOptions): Promise<Handshake> => {
    const isPsk = options.pattern === "XXpsk3"
    if (isPsk !== (options.psk !== undefined) || (options.psk !== undefined && options.psk.length !== 32)) {
      throw fail("bad_key", `${options.pattern} needs ${isPsk ? "a 32-byte psk" : "no psk"}`)
    }
    const symmetric = await SymmetricState.initialize(protocolName(options.pattern))
    await symmetric.mixHash(options.prologue)
    return new Handshake(options, symmetric)
  }

  private get pattern(): ReadonlyArray<ReadonlyArray<Token>> {
    return PATTERNS[this.options.pattern]
  }
  private get psk(): boolean {
    return this.options.psk !== undefined
  }

  /** Whether it is this party's turn to write (false once complete). */
  get myTurn(): boolean {
    return this.result === undefined && (this.index % 2 === 0) === this.options.initiator
  }

  get complete(): HandshakeResult | undefined {
    return this.result
  }

  /** The peer's static key, once a message carried it. */
  get remoteStatic(): Uint8Array | undefined {
    return this.rs
  }

  private dhOf(token: "ee" | "es" | "se") {
    const { initiator, s } = this.options
    const e = this.e!
    // es: the initiator's ephemeral with the responder's static; se: the initiator's static
    // with the responder's ephemeral. Each side computes the same DH from its own halves.
    if (token === "ee") return dh(e, this.re!)
    if (token === "es") return initiator ? dh(e, this.rs!) : dh(s, this.re!)
    return initiator ? dh(s, this.re!) : dh(e, this.rs!)
  }

  private async mixToken(token: "ee" | "es" | "se" | "psk") {
    if (token === "psk") return this.symmetric.mixKeyAndHash(this.options.psk!)
    const shared = await this.dhOf(token).catch(() => {
      throw fail("bad_key", "the peer's key is not a valid X25519 key")
    })
    await this.symmetric.mixKey(shared)
  }

  private async guard<A>(body: () => Promise<A>, writing: boolean): Promise<A> {
    if (this.dead) throw fail("out_of_turn", "the handshake already failed")
    if (this.result !== undefined || this.myTurn !== writing) {
      throw fail("out_of_turn", `not this party's turn to ${writing ? "write" : "read"}`)
    }
    try {
      return await body()
    } catch (e) {
      this.dead = true
      throw e
    }
  }

  private async finishMessage() {
    this.index++
    if (this.index < this.pattern.length) return
    const [c1, c2] = await this.symmetric.split()
    const initiator = this.options.initiator
    this.result = {
      send: initiator ? c1 : c2,
      receive: initiator ? c2 : c1,
      handshakeHash: this.symmetric.handshakeHash,
      remoteStatic: this.rs!
    }
  }

  writeMessage(payload: Uint8Array): Promise<Uint8Array> {
    return this.guard(async () => {
      const out: Array<Uint8Array> = []
      for (const token of this.pattern[this.index]!) {
        if (token === "e") {
          this.e ??= await generateKeyPair()
          out.push(this.e.publicKey)
          await this.symmetric.mixHash(this.e.publicKey)
          if (this.psk) await this.symmetric.mixKey(this.e.publicKey)
        } else if (token === "s") {
          out.push(await this.encrypt(this.options.s.publicKey))
        } else {
          await this.mixToken(token)
        }
      }
      out.push(await this.encrypt(payload))
      const message = concat(...out)
      if (message.length > MAX_MESSAGE) throw fail("malformed", "handshake message over 65535 bytes")
      await this.finishMessage()
      return message
    }, true)
  }

  readMessage(message: Uint8Array): Promise<Uint8Array> {
    return this.guard(async () => {
      if (message.length > MAX_MESSAGE) throw fail("malformed", "handshake message over 65535 bytes")
      let at = 0
      const take = (n: number) => {
        if (at + n > message.length) throw fail("malformed", "handshake message is too short")
        const part = message.subarray(at, at + n)
        at += n
        return part
      }
      for (const token of this.pattern[this.index]!) {
        if (token === "e") {
          this.re = Uint8Array.from(take(DHLEN))
          await this.symmetric.mixHash(this.re)
          if (this.psk) await this.symmetric.mixKey(this.re)
        } else if (token === "s") {
          const sealed = take(this.symmetric.hasKey() ? DHLEN + TAGLEN : DHLEN)
          this.rs = await this.decrypt(sealed)
        } else {
          await this.mixToken(token)
        }
      }
      const payload = await this.decrypt(message.subarray(at))
      await this.finishMessage()
      return payload
    }, false)
  }

  private encrypt(plaintext: Uint8Array) {
    return this.symmetric.encryptAndHash(plaintext).catch(() => {
      throw fail("malformed", "nonce exhausted")
    })
  }

  private decrypt(ciphertext: Uint8Array) {
    return this.symmetric.decryptAndHash(Uint8Array.from(ciphertext)).catch(() => {
      throw fail("decrypt", "a handshake message did not authenticate (wrong key, wrong secret, or altered)")
    })
  }
}
