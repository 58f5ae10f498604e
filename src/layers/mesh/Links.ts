import { Effect, Either } from "effect"
import { PairingRefused, Unavailable } from "../../protocol/Errors.js"
import type { MeshCode } from "../../protocol/MeshCode.js"
import type { MeshNote } from "../../protocol/MeshRelayWire.js"
import type { JoinHello, MeshMessage } from "../../protocol/MeshWire.js"
import { concat, fromHex, toHex, utf8 } from "../../protocol/sealed/Bytes.js"
import type { Handshake } from "../../protocol/sealed/Handshake.js"
import { fingerprintOf, pairingPsk, readPinned } from "../../protocol/sealed/Pairing.js"
import type { SealedIdentity } from "../../services/SealedIdentity.js"
import {
  acceptJoin,
  acceptMeshSession,
  helloBytes,
  openConfirmation,
  readHello,
  remoteOf,
  sealConfirmation,
  splitCodeId,
  startJoin,
  startMeshSession,
  withCodeId
} from "./Handshakes.js"
import type { MeshStore } from "./MeshStore.js"
import { Kind, SealedPipe } from "./SealedPipe.js"

export interface LinkEvents {
  readonly up: (machine: string, pipe: SealedPipe) => void
  readonly message: (machine: string, message: MeshMessage) => void
  readonly down: (machine: string) => void
}

interface Joining {
  readonly handshake: Handshake
  readonly code: MeshCode
  hello?: JoinHello | undefined
  readonly done: (
    outcome: Either.Either<{ machine: string; fingerprint: string }, PairingRefused | Unavailable>
  ) => void
}

/** Everything this daemon knows about one other daemon of its user, by relay daemon id. */
interface Remote {
  present: boolean
  /** Frames from this daemon, handled one after another: a record must not overtake the handshake before it. */
  tail: Promise<void>
  machine?: string | undefined
  pipe?: SealedPipe | undefined
  initiating?: Handshake | undefined
  responding?: Handshake | undefined
  joining?: Joining | undefined
  pairing?: { readonly handshake: Handshake; readonly codeId: string } | undefined
}

const JOIN_TIMEOUT_MS = 15_000

/**
 * The link state machine: joins (Noise_XXpsk3 keyed by a one-time code, each side checking the
 * other's identity) and sessions (Noise_XX between pinned keys; the daemon with the lower
 * fingerprint starts them). Frames come from the relay switch, which is trusted with nothing.
 */
export class Links {
  private readonly remotes = new Map<string, Remote>()
  private stopped = false

  constructor(
    private readonly identity: SealedIdentity["Type"],
    private readonly self: JoinHello,
    private readonly store: MeshStore,
    private readonly send: (to: string, payload: Uint8Array) => boolean,
    private readonly events: LinkEvents
  ) {}

  private remote(daemonId: string): Remote {
    let remote = this.remotes.get(daemonId)
    if (remote === undefined) this.remotes.set(daemonId, remote = { present: false, tail: Promise.resolve() })
    return remote
  }

  pipeOf(machine: string): SealedPipe | undefined {
    for (const remote of this.remotes.values()) if (remote.machine === machine && remote.pipe) return remote.pipe
    return undefined
  }

  isPresent(daemonId: string): boolean {
    return this.remotes.get(daemonId)?.present ?? false
  }

  note(note: MeshNote): void {
    if ("present" in note) {
      for (const id of note.present) this.remote(id).present = true
      for (const link of this.store.links()) if (note.present.includes(link.daemon_id)) this.connect(link.daemon_id)
    } else if ("joined" in note) {
      const remote = this.remote(note.joined)
      remote.present = true
      this.drop(note.joined)
      this.connect(note.joined)
    } else if ("left" in note) {
      this.remote(note.left).present = false
      this.drop(note.left)
    } else {
      const remote = this.remote(note.unreachable)
      remote.present = false
      remote.joining?.done(Either.left(unreachable))
      remote.joining = undefined
      this.drop(note.unreachable)
    }
  }

  /** The relay link went down: every session through it ends. */
  relayDown(): void {
    for (const [id, remote] of this.remotes) {
      remote.present = false
      remote.joining?.done(Either.left(unreachable))
      remote.joining = undefined
      this.drop(id)
    }
  }

  /** Ends the session with a daemon (it starts again when both are back). */
  drop(daemonId: string): void {
    const remote = this.remotes.get(daemonId)
    if (remote === undefined) return
    remote.initiating = undefined
    remote.responding = undefined
    if (remote.pipe !== undefined) {
      remote.pipe.broken = true
      remote.pipe = undefined
      if (remote.machine !== undefined) this.events.down(remote.machine)
    }
  }

  /** The daemon is stopping: late timers and frames find the store closed, so they do nothing. */
  stop(): void {
    this.stopped = true
  }

  /** Starts a session with a linked daemon when this side is the one that starts them. */
  connect(daemonId: string): void {
    if (this.stopped) return
    const link = this.store.links().find((l) => l.daemon_id === daemonId)
    const remote = this.remote(daemonId)
    if (link === undefined || !remote.present || remote.pipe || remote.initiating) return
    if (this.identity.fingerprint > link.fingerprint) return
    void Effect.runPromise(
      Effect.gen(this, function*() {
        const handshake = yield* startMeshSession(this.identity.staticKey)
        remote.initiating = handshake
        const first = yield* handshake.writeMessage(new Uint8Array(0))
        this.send(daemonId, concat(Uint8Array.of(Kind.Session1), first))
      }).pipe(Effect.ignore)
    )
  }

  /** Every linked daemon that is present but has no session: try again (a lost handshake message). */
  retry(): void {
    if (this.stopped) return
    for (const link of this.store.links()) {
      const remote = this.remotes.get(link.daemon_id)
      if (remote?.present && !remote.pipe) {
        remote.initiating = undefined
        this.connect(link.daemon_id)
      }
    }
  }

  frame(from: string, payload: Uint8Array): void {
    const remote = this.remote(from)
    remote.present = true
    remote.tail = remote.tail.then(() => this.handle(from, remote, payload))
  }

  private handle(from: string, remote: Remote, payload: Uint8Array): Promise<void> | void {
    if (this.stopped) return
    const kind = payload[0]
    const body = payload.subarray(1)
    switch (kind) {
      case Kind.Record:
        if (remote.pipe !== undefined) return remote.pipe.receive(body)
        // A record of a session this side no longer has (it restarted): the starter begins again.
        this.send(from, Uint8Array.of(Kind.SessionRefused))
        return
      case Kind.Session1:
        return this.run(this.answerSession(from, remote, body))
      case Kind.Session2:
        return this.run(this.finishSession(from, remote, body))
      case Kind.Session3:
        return this.run(this.acceptSession(from, remote, body))
      case Kind.SessionRefused:
        this.drop(from)
        if (remote.initiating === undefined) setTimeout(() => this.connect(from), 200)
        return
      case Kind.Join1:
        return this.run(this.answerJoin(from, remote, payload))
      case Kind.Join2:
        return this.run(this.continueJoin(from, remote, body))
      case Kind.Join3:
        return this.run(this.finishJoinAsPairer(from, remote, body))
      case Kind.JoinOk:
        return this.run(this.finishJoinAsJoiner(from, remote, body))
      case Kind.JoinRefused: {
        const why = new TextDecoder().decode(body)
        remote.joining?.done(Either.left(new PairingRefused({ message: why || "the other daemon refused the code" })))
        remote.joining = undefined
        return
      }
    }
  }

  private run(effect: Effect.Effect<void, unknown>) {
    return Effect.runPromise(Effect.ignore(effect))
  }

  private up(daemonId: string, remote: Remote, handshake: Handshake, machine: string) {
    const pipe = SealedPipe.make(
      handshake.complete!,
      (payload) => this.send(daemonId, payload),
      (message) => this.events.message(machine, message),
      () => {
        if (remote.pipe !== undefined && remote.pipe.broken) this.drop(daemonId)
      }
    )
    return Effect.map(pipe, (made) => {
      this.drop(daemonId)
      remote.machine = machine
      remote.pipe = made
      this.store.seen(machine, Date.now(), daemonId)
      this.events.up(machine, made)
    })
  }

  private pinnedKey = (key: Uint8Array) => Effect.sync(() => this.store.linkByKey(toHex(key)) !== undefined)

  private answerSession(from: string, remote: Remote, message: Uint8Array) {
    return Effect.gen(this, function*() {
      const handshake = yield* acceptMeshSession(this.identity.staticKey)
      yield* handshake.readMessage(message)
      remote.responding = handshake
      this.send(from, concat(Uint8Array.of(Kind.Session2), yield* handshake.writeMessage(new Uint8Array(0))))
    })
  }

  private finishSession(from: string, remote: Remote, message: Uint8Array) {
    return Effect.gen(this, function*() {
      const handshake = remote.initiating
      if (handshake === undefined) return
      remote.initiating = undefined
      const pinned = yield* Effect.either(readPinned(handshake, message, this.pinnedKey))
      if (Either.isLeft(pinned)) return
      const last = yield* handshake.writeMessage(new Uint8Array(0))
      const link = this.store.linkByKey(toHex(handshake.complete!.remoteStatic))!
      this.send(from, concat(Uint8Array.of(Kind.Session3), last))
      yield* this.up(from, remote, handshake, link.machine)
    })
  }

  private acceptSession(from: string, remote: Remote, message: Uint8Array) {
    return Effect.gen(this, function*() {
      const handshake = remote.responding
      if (handshake === undefined) return
      remote.responding = undefined
      const pinned = yield* Effect.either(readPinned(handshake, message, this.pinnedKey))
      if (Either.isLeft(pinned)) return void this.send(from, Uint8Array.of(Kind.SessionRefused))
      const link = this.store.linkByKey(toHex(handshake.complete!.remoteStatic))!
      yield* this.up(from, remote, handshake, link.machine)
    })
  }

  /** The joiner's side: the code names the daemon, its key's fingerprint and the secret. */
  join(code: MeshCode): Promise<Either.Either<{ machine: string; fingerprint: string }, PairingRefused | Unavailable>> {
    return new Promise((resolve) => {
      const remote = this.remote(code.daemonId)
      const timer = setTimeout(() => done(Either.left(unreachable)), JOIN_TIMEOUT_MS)
      const done: Joining["done"] = (outcome) => {
        clearTimeout(timer)
        if (remote.joining?.done === done) remote.joining = undefined
        resolve(outcome)
      }
      void this.run(Effect.gen(this, function*() {
        const handshake = yield* startJoin(this.identity.staticKey, yield* pairingPsk(code.secret.key))
        remote.joining?.done(Either.left(new PairingRefused({ message: "a newer join replaced this one" })))
        remote.joining = { handshake, code, done }
        const first = yield* handshake.writeMessage(new Uint8Array(0))
        if (!this.send(code.daemonId, withCodeId(Kind.Join1, code.secret.id, first))) {
          done(Either.left(new Unavailable({ message: "this daemon is not connected to the relay" })))
        }
      }))
    })
  }

  private refuseJoin(to: string, why: string) {
    this.send(to, concat(Uint8Array.of(Kind.JoinRefused), utf8(why)))
  }

  /** The pairer's side, first message: the code must be known, unused and unexpired. */
  private answerJoin(from: string, remote: Remote, payload: Uint8Array) {
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
  private continueJoin(from: string, remote: Remote, message: Uint8Array) {
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
  private finishJoinAsPairer(from: string, remote: Remote, message: Uint8Array) {
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
      setTimeout(() => this.connect(from), 50)
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

  private finishJoinAsJoiner(from: string, remote: Remote, record: Uint8Array) {
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
      remote.present = true
      setTimeout(() => this.connect(from), 50)
    })
  }
}

const unreachable = new Unavailable({ message: "the daemon that printed the code is not connected to the relay" })
