import type { Either } from "effect"
import { Unavailable } from "../../protocol/Errors.js"
import type { PairingRefused } from "../../protocol/Errors.js"
import type { MeshCode } from "../../protocol/MeshCode.js"
import type { JoinHello } from "../../protocol/MeshWire.js"
import type { Handshake } from "../../protocol/sealed/Handshake.js"
import type { SealedPipe } from "./SealedPipe.js"

export type JoinOutcome = Either.Either<{ machine: string; fingerprint: string }, PairingRefused | Unavailable>

export interface Joining {
  readonly handshake: Handshake
  readonly code: MeshCode
  hello?: JoinHello | undefined
  readonly done: (outcome: JoinOutcome) => void
}

/** Everything this daemon knows about one other daemon of its user, by relay daemon id. */
export interface Remote {
  present: boolean
  /** Frames from this daemon, handled one after another: a record must not overtake the handshake before it. */
  tail: Promise<void>
  machine?: string | undefined
  pipe?: SealedPipe | undefined
  /** The starter's session until the other side's first record proves it pinned this side's key too. */
  confirming?: { readonly pipe: SealedPipe; readonly machine: string } | undefined
  initiating?: Handshake | undefined
  responding?: Handshake | undefined
  joining?: Joining | undefined
  pairing?: { readonly handshake: Handshake; readonly codeId: string } | undefined
}

export const unreachable = new Unavailable({
  message: "the daemon that printed the code is not connected to the relay"
})
