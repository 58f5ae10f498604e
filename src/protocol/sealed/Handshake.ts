import { Effect } from "effect"
import { concat } from "./Bytes.js"
import type { CipherState } from "./CipherState.js"
import { dh, DHLEN, generateKeyPair, type KeyPair } from "./Primitives.js"
import { HandshakeFailed } from "./SealedErrors.js"
import { SymmetricState } from "./SymmetricState.js"

/**
 * Noise's HandshakeState (§5.3) for the two patterns the sealed tunnel uses (§7.5, §9.4):
 *
 *   XX:       -> e                 XXpsk3:  -> e
 *             <- e, ee, s, es               <- e, ee, s, es
 *             -> s, se                      -> s, se, psk
 *
 * Neither has pre-messages, so initialisation is the protocol name and the prologue only.
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

const fail = (reason: HandshakeFailed["reason"], message: string) => new HandshakeFailed({ reason, message })

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

  static readonly make = (options: HandshakeOptions): Effect.Effect<Handshake, HandshakeFailed> =>
    Effect.gen(function*() {
      const isPsk = options.pattern === "XXpsk3"
      if (isPsk !== (options.psk !== undefined) || (options.psk !== undefined && options.psk.length !== 32)) {
        return yield* fail("bad_key", `${options.pattern} needs ${isPsk ? "a 32-byte psk" : "no psk"}`)
      }
      const symmetric = yield* SymmetricState.initialize(protocolName(options.pattern))
      yield* symmetric.mixHash(options.prologue)
      return new Handshake(options, symmetric)
    })

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

  private mixToken(token: "ee" | "es" | "se" | "psk") {
    if (token === "psk") return this.symmetric.mixKeyAndHash(this.options.psk!)
    return Effect.flatMap(
      Effect.mapError(this.dhOf(token), () => fail("bad_key", "the peer's key is not a valid X25519 key")),
      (shared) => this.symmetric.mixKey(shared)
    )
  }

  private guard<A>(body: Effect.Effect<A, HandshakeFailed>, writing: boolean): Effect.Effect<A, HandshakeFailed> {
    if (this.dead) return Effect.fail(fail("out_of_turn", "the handshake already failed"))
    if (this.result !== undefined || this.myTurn !== writing) {
      return Effect.fail(fail("out_of_turn", `not this party's turn to ${writing ? "write" : "read"}`))
    }
    return Effect.tapError(body, () =>
      Effect.sync(() => {
        this.dead = true
      }))
  }

  private finishMessage() {
    return Effect.gen(this, function*() {
      this.index++
      if (this.index < this.pattern.length) return
      const [c1, c2] = yield* this.symmetric.split()
      const initiator = this.options.initiator
      this.result = {
        send: initiator ? c1 : c2,
        receive: initiator ? c2 : c1,
        handshakeHash: this.symmetric.handshakeHash,
        remoteStatic: this.rs!
      }
    })
  }

  writeMessage(payload: Uint8Array): Effect.Effect<Uint8Array, HandshakeFailed> {
    return this.guard(
      Effect.gen(this, function*() {
        const out: Array<Uint8Array> = []
        for (const token of this.pattern[this.index]!) {
          if (token === "e") {
            this.e ??= yield* generateKeyPair()
            out.push(this.e.publicKey)
            yield* this.symmetric.mixHash(this.e.publicKey)
            if (this.psk) yield* this.symmetric.mixKey(this.e.publicKey)
          } else if (token === "s") {
            out.push(yield* this.encrypt(this.options.s.publicKey))
          } else {
            yield* this.mixToken(token)
          }
        }
        out.push(yield* this.encrypt(payload))
        const message = concat(...out)
        if (message.length > MAX_MESSAGE) return yield* fail("malformed", "handshake message over 65535 bytes")
        yield* this.finishMessage()
        return message
      }),
      true
    )
  }

  readMessage(message: Uint8Array): Effect.Effect<Uint8Array, HandshakeFailed> {
    return this.guard(
      Effect.gen(this, function*() {
        if (message.length > MAX_MESSAGE) return yield* fail("malformed", "handshake message over 65535 bytes")
        let at = 0
        const take = (n: number) => {
          if (at + n > message.length) return Effect.fail(fail("malformed", "handshake message is too short"))
          const part = message.subarray(at, at + n)
          at += n
          return Effect.succeed(part)
        }
        for (const token of this.pattern[this.index]!) {
          if (token === "e") {
            this.re = Uint8Array.from(yield* take(DHLEN))
            yield* this.symmetric.mixHash(this.re)
            if (this.psk) yield* this.symmetric.mixKey(this.re)
          } else if (token === "s") {
            const sealed = yield* take(this.symmetric.hasKey() ? DHLEN + TAGLEN : DHLEN)
            this.rs = yield* this.decrypt(sealed)
          } else {
            yield* this.mixToken(token)
          }
        }
        const payload = yield* this.decrypt(message.subarray(at))
        yield* this.finishMessage()
        return payload
      }),
      false
    )
  }

  private encrypt(plaintext: Uint8Array) {
    return Effect.mapError(this.symmetric.encryptAndHash(plaintext), () => fail("malformed", "nonce exhausted"))
  }

  private decrypt(ciphertext: Uint8Array) {
    return Effect.mapError(
      this.symmetric.decryptAndHash(Uint8Array.from(ciphertext)),
      () => fail("decrypt", "a handshake message did not authenticate (wrong key, wrong secret, or altered)")
    )
  }
}
