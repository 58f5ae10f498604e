import { Effect, Either } from "effect"
import { PairingRefused } from "../../protocol/Errors.js"
import type { MeshCode } from "../../protocol/MeshCode.js"
import type { MeshNote } from "../../protocol/MeshRelayWire.js"
import type { JoinHello, MeshMessage } from "../../protocol/MeshWire.js"
import { concat, toHex } from "../../protocol/sealed/Bytes.js"
import type { Handshake } from "../../protocol/sealed/Handshake.js"
import { readPinned } from "../../protocol/sealed/Pairing.js"
import type { SealedIdentity } from "../../services/SealedIdentity.js"
import { acceptMeshSession, startMeshSession } from "./Handshakes.js"
import { Joins } from "./Joins.js"
import type { MeshStore } from "./MeshStore.js"
import { type JoinOutcome, type Remote, unreachable } from "./Remote.js"
import { Kind, SealedPipe } from "./SealedPipe.js"

export interface LinkEvents {
  readonly up: (machine: string, pipe: SealedPipe) => void
  readonly message: (machine: string, message: MeshMessage) => void
  readonly down: (machine: string) => void
}

/**
 * The link state machine: joins (Noise_XXpsk3 keyed by a one-time code, each side checking the
 * other's identity) and sessions (Noise_XX between pinned keys; the daemon with the lower
 * fingerprint starts them). Frames come from the relay switch, which is trusted with nothing.
 */
export class Links {
  private readonly remotes = new Map<string, Remote>()
  private readonly joins: Joins
  private stopped = false

  constructor(
    private readonly identity: SealedIdentity["Type"],
    self: JoinHello,
    private readonly store: MeshStore,
    private readonly send: (to: string, payload: Uint8Array) => boolean,
    private readonly events: LinkEvents
  ) {
    this.joins = new Joins(identity, self, store, send, (daemonId) => {
      this.remote(daemonId).present = true
      setTimeout(() => this.connect(daemonId), 50)
    })
  }

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
    remote.confirming = undefined
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
        if (remote.pipe === undefined && remote.confirming !== undefined) {
          const { machine, pipe } = remote.confirming
          remote.confirming = undefined
          this.activate(from, remote, pipe, machine)
        }
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
        // Unauthenticated, so it only ends this attempt; the retry timer or a presence note starts the next.
        this.drop(from)
        return
      case Kind.Join1:
        return this.run(this.joins.answerJoin(from, remote, payload))
      case Kind.Join2:
        return this.run(this.joins.continueJoin(from, remote, body))
      case Kind.Join3:
        return this.run(this.joins.finishJoinAsPairer(from, remote, body))
      case Kind.JoinOk:
        return this.run(this.joins.finishJoinAsJoiner(from, remote, body))
      case Kind.JoinRefused: {
        // Unauthenticated text (the relay could write it): shown only as a short, plain reason.
        const why = new TextDecoder().decode(body).replace(/[\p{Cc}\p{Cf}]/gu, " ").trim().slice(0, 300)
        remote.joining?.done(Either.left(new PairingRefused({ message: why || "the other daemon refused the code" })))
        remote.joining = undefined
        return
      }
    }
  }

  private run(effect: Effect.Effect<void, unknown>) {
    return Effect.runPromise(Effect.ignore(effect))
  }

  /**
   * A finished handshake's session. The side that answered it is up at once (it checked the
   * starter's key last); the starter waits for the answering side's first record, since that
   * side may yet refuse its key (a link removed there while this side was away).
   */
  private up(daemonId: string, remote: Remote, handshake: Handshake, machine: string, confirmed: boolean) {
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
      if (confirmed) this.activate(daemonId, remote, made, machine)
      else remote.confirming = { pipe: made, machine }
    })
  }

  private activate(daemonId: string, remote: Remote, pipe: SealedPipe, machine: string) {
    remote.machine = machine
    remote.pipe = pipe
    this.store.seen(machine, Date.now(), daemonId)
    this.events.up(machine, pipe)
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
      yield* this.up(from, remote, handshake, link.machine, false)
      this.send(from, concat(Uint8Array.of(Kind.Session3), last))
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
      yield* this.up(from, remote, handshake, link.machine, true)
    })
  }

  join(code: MeshCode): Promise<JoinOutcome> {
    return this.joins.join(code, this.remote(code.daemonId))
  }
}
