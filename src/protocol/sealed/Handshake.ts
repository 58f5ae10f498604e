import { Effect } from "effect"
import { CipherState } from "./CipherState.js"
import { HandshakeError } from "./core/Failures.js"
import * as Core from "./core/Handshake.js"
import { HandshakeFailed } from "./SealedErrors.js"

/**
 * Noise's HandshakeState (§5.3) for XX and XXpsk3, as effects for the daemon: the Effect-free
 * core's (./core/Handshake.ts, which the browser's loader uses directly), its HandshakeError
 * becoming the typed HandshakeFailed.
 */

export { type HandshakeOptions, MAX_MESSAGE, type PatternName, PATTERNS, protocolName } from "./core/Handshake.js"

/** A completed handshake: this party's sending and receiving CipherStates, and what it learned. */
export interface HandshakeResult {
  readonly send: CipherState
  readonly receive: CipherState
  readonly handshakeHash: Uint8Array
  readonly remoteStatic: Uint8Array
}

/** A core promise as an effect: its HandshakeError typed, anything else a defect. */
export const fromCore = <A>(run: () => Promise<A>): Effect.Effect<A, HandshakeFailed> =>
  Effect.tryPromise({ try: run, catch: (e) => e }).pipe(
    Effect.catchAll((e) =>
      e instanceof HandshakeError
        ? Effect.fail(new HandshakeFailed({ reason: e.reason, message: e.message }))
        : Effect.die(e)
    )
  )

export class Handshake {
  private result: HandshakeResult | undefined

  private constructor(readonly core: Core.Handshake) {}

  static readonly make = (options: Core.HandshakeOptions): Effect.Effect<Handshake, HandshakeFailed> =>
    Effect.map(fromCore(() => Core.Handshake.make(options)), (core) => new Handshake(core))

  /** Whether it is this party's turn to write (false once complete). */
  get myTurn(): boolean {
    return this.core.myTurn
  }

  get complete(): HandshakeResult | undefined {
    const done = this.core.complete
    if (done === undefined) return undefined
    return this.result ??= {
      send: new CipherState(done.send),
      receive: new CipherState(done.receive),
      handshakeHash: done.handshakeHash,
      remoteStatic: done.remoteStatic
    }
  }

  /** The peer's static key, once a message carried it. */
  get remoteStatic(): Uint8Array | undefined {
    return this.core.remoteStatic
  }

  writeMessage(payload: Uint8Array): Effect.Effect<Uint8Array, HandshakeFailed> {
    return fromCore(() => this.core.writeMessage(payload))
  }

  readMessage(message: Uint8Array): Effect.Effect<Uint8Array, HandshakeFailed> {
    return fromCore(() => this.core.readMessage(message))
  }
}
