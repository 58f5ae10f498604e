import { Effect, Either } from "effect"
import { PairingRefused, Unavailable } from "../../protocol/Errors.js"
import type { MeshCode } from "../../protocol/MeshCode.js"
import type { JoinHello } from "../../protocol/MeshWire.js"
import { concat, fromHex, utf8 } from "../../protocol/sealed/Bytes.js"
import { fingerprintOf, pairingPsk, readPinned } from "../../protocol/sealed/Pairing.js"
import type { SealedIdentity } from "../../services/SealedIdentity.js"
import {
  acceptJoin,
  helloBytes,
  openConfirmation,
  readHello,
  remoteOf,
  sealConfirmation,
  splitCodeId,
  startJoin,
  withCodeId
} from "./Handshakes.js"
import type { MeshStore } from "./MeshStore.js"
import { type Joining, type JoinOutcome, type Remote, unreachable } from "./Remote.js"
import { Kind } from "./SealedPipe.js"

const JOIN_TIMEOUT_MS = 15_000

/**
 * Joining two daemons (Noise_XXpsk3 keyed by the one-time code): the joiner checks the pairer's
 * key against the code's fingerprint; the pairer spends the code and pins the joiner's key in
 * one step; the joiner pins the pairer's once the pairer's sealed confirmation opens.
 */
export class Joins {
  constructor(
    private readonly identity: SealedIdentity["Type"],
    private readonly self: JoinHello,
    private readonly store: MeshStore,
    private readonly send: (to: string, payload: Uint8Array) => boolean,
    /** Starts the first session with a daemon just linked. */
    private readonly connect: (daemonId: string) => void
  ) {}

  /** The joiner's side: the code names the daemon, its key's fingerprint and the secret. */
  join(code: MeshCode, remote: Remote): Promise<JoinOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(Either.left(unreachable)), JOIN_TIMEOUT_MS)
      const done: Joining["done"] = (outcome) => {
        clearTimeout(timer)
        if (remote.joining?.done === done) remote.joining = undefined
        resolve(outcome)
      }
      void Effect.runPromise(Effect.ignore(Effect.gen(this, function*() {
        const handshake = yield* startJoin(this.identity.staticKey, yield* pairingPsk(code.secret.key))
        remote.joining?.done(Either.left(new PairingRefused({ message: "a newer join replaced this one" })))
        remote.joining = { handshake, code, done }
        const first = yield* handshake.writeMessage(new Uint8Array(0))
        if (!this.send(code.daemonId, withCodeId(Kind.Join1, code.secret.id, first))) {
          done(Either.left(new Unavailable({ message: "this daemon is not connected to the relay" })))
        }
      })))
    })
  }

  private refuseJoin(to: string, why: string) {
    this.send(to, concat(Uint8Array.of(Kind.JoinRefused), utf8(why)))
  }

  /** The pairer's side, first message: the code must be known, unused and unexpired. */
  answerJoin(from: string, remote: Remote, payload: Uint8Array) {
    return Effect.gen(this, function*() {
      const parts = splitCodeId(payload)
      if (parts === undefined) return this.refuseJoin(from, "malformed join")
      const why = this.codeProblem(parts.codeId, Date.now())
      const code = this.store.code(parts.codeId)
      if (why !== undefined || code._tag === "None") return this.refuseJoin(from, why ?? "unknown code")
      const handshake = yield* acceptJoin(this.identity.staticKey, fromHex(code.value.psk))
      const read = yield* Effect.either(handshake.readMessage(parts.message))
      if (Either.isLeft(read)) {
        return this.refuseJoin(from, "the join handshake failed: the code is wrong or was altered")
      }
      remote.pairing = { handshake, codeId: parts.codeId }
      this.send(from, concat(Uint8Array.of(Kind.Join2), yield* handshake.writeMessage(helloBytes(this.self))))
    })
  }

  private codeProblem(codeId: string, at: number): string | undefined {
    const row = this.store.code(codeId)
    if (row._tag === "None") return "this join code is not known to the other daemon; run `repowire mesh pair` again"
    if (row.value.used_at !== null) return "this join code was already used; run `repowire mesh pair` again"
    if (row.value.expires_at <= at) {
      return "this join code expired (codes last 10 minutes); run `repowire mesh pair` again"
    }
    return undefined
  }

  /** The joiner's side, second message: the pairer's key must be the one the code names. */
  continueJoin(from: string, remote: Remote, message: Uint8Array) {
    return Effect.gen(this, function*() {
      const joining = remote.joining
      if (joining === undefined) return
      const expected = joining.code.fingerprint
      const pinned = (key: Uint8Array) => Effect.map(fingerprintOf(key), (f) => f === expected)
      const read = yield* Effect.either(readPinned(joining.handshake, message, pinned))
      if (Either.isLeft(read)) {
        return joining.done(Either.left(
          new PairingRefused({
            message: read.left._tag === "HandshakeFailed" && read.left.reason === "unpinned_key"
              ? "the daemon that answered is not the one that printed the code (its identity key differs)"
              : "the join handshake failed: the code is wrong or was altered"
          })
        ))
      }
      const hello = yield* readHello(read.right)
      if (hello.machine === this.self.machine) {
        return joining.done(Either.left(
          new PairingRefused({
            message: `both daemons are named ${hello.machine}: set daemon.machine_name on one of them`
          })
        ))
      }
      joining.hello = hello
      this.send(from, concat(Uint8Array.of(Kind.Join3), yield* joining.handshake.writeMessage(helloBytes(this.self))))
    })
  }

  /** The pairer's side, last message: the code is spent and the joiner's key pinned, atomically. */
  finishJoinAsPairer(from: string, remote: Remote, message: Uint8Array) {
    return Effect.gen(this, function*() {
      const pairing = remote.pairing
      if (pairing === undefined) return
      remote.pairing = undefined
      const payload = yield* Effect.either(pairing.handshake.readMessage(message))
      if (Either.isLeft(payload)) {
        return this.refuseJoin(from, "the join handshake failed: the code is wrong or was altered")
      }
      const hello = yield* Effect.either(readHello(payload.right))
      if (Either.isLeft(hello)) return this.refuseJoin(from, hello.left.message)
      const { fingerprint, publicKey } = yield* remoteOf(pairing.handshake)
      const at = Date.now()
      const why = hello.right.machine === this.self.machine
        ? `both daemons are named ${hello.right.machine}: set daemon.machine_name on one of them`
        : this.pinJoiner(pairing.codeId, at, {
          machine: hello.right.machine,
          daemon_id: from,
          public_key: publicKey,
          fingerprint,
          created_at: at,
          last_seen: at
        })
      if (why !== undefined) return this.refuseJoin(from, why)
      this.send(from, concat(Uint8Array.of(Kind.JoinOk), yield* sealConfirmation(pairing.handshake)))
      this.connect(from)
    })
  }

  private pinJoiner(codeId: string, at: number, row: Parameters<MeshStore["pin"]>[0]): string | undefined {
    const problem = this.codeProblem(codeId, at)
    if (problem !== undefined) return problem
    const sameName = this.store.linkByMachine(row.machine)
    if (sameName !== undefined && sameName.public_key !== row.public_key) {
      return `a machine named ${row.machine} is already linked here; remove it first (repowire mesh remove ${row.machine})`
    }
    if (!this.store.spendCode(codeId, at)) return "this join code was already used; run `repowire mesh pair` again"
    this.store.pin(row)
    return undefined
  }

  finishJoinAsJoiner(from: string, remote: Remote, record: Uint8Array) {
    return Effect.gen(this, function*() {
      const joining = remote.joining
      if (joining === undefined || joining.hello === undefined) return
      if (!(yield* openConfirmation(joining.handshake, record))) {
        return joining.done(
          Either.left(new PairingRefused({ message: "the other daemon's confirmation did not open" }))
        )
      }
      const { fingerprint, publicKey } = yield* remoteOf(joining.handshake)
      const at = Date.now()
      const sameName = this.store.linkByMachine(joining.hello.machine)
      if (sameName !== undefined && sameName.public_key !== publicKey) {
        return joining.done(Either.left(
          new PairingRefused({
            message: `a machine named ${joining.hello.machine} is already linked here; remove it first`
          })
        ))
      }
      this.store.pin({
        machine: joining.hello.machine,
        daemon_id: from,
        public_key: publicKey,
        fingerprint,
        created_at: at,
        last_seen: at
      })
      joining.done(Either.right({ machine: joining.hello.machine, fingerprint }))
      this.connect(from)
    })
  }
}
