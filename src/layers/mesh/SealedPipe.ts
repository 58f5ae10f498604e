import { Effect, Either, Schema } from "effect"
import { type MeshMessage, MeshMessageJson } from "../../protocol/MeshWire.js"
import { concat } from "../../protocol/sealed/Bytes.js"
import type { HandshakeResult } from "../../protocol/sealed/Handshake.js"
import { SealedSession } from "../../protocol/sealed/Session.js"
import { SyncRecordOpener, SyncRecordSealer } from "../../protocol/sealed/SyncRecords.js"
import { nodeAead } from "../sealed/NodeAead.js"

/** The first byte of every payload between linked daemons (the relay's frames carry these). */
export const Kind = {
  Join1: 0x10,
  Join2: 0x11,
  Join3: 0x12,
  JoinOk: 0x13,
  JoinRefused: 0x14,
  Session1: 0x20,
  Session2: 0x21,
  Session3: 0x22,
  SessionRefused: 0x23,
  Record: 0x30
} as const

/** Plaintext per record; a longer message is cut into several, each but the last marked "more". */
const CHUNK = 60 * 1024
const MORE = 1
const LAST = 0
/** The longest message a linked daemon may send: a 64 KiB text, its frame, and room to spare. */
const MAX_MESSAGE = 1024 * 1024

const encodeMessage = Schema.encodeSync(MeshMessageJson)
const decodeMessage = Schema.decodeUnknownEither(MeshMessageJson)

/**
 * One sealed session between two linked daemons: after the Noise_XX handshake, each side's
 * messages are sealed records on stream 0 of its direction. Records are sealed and opened
 * synchronously (node:crypto), so they go out and are taken in the order of the calls, which
 * their counters (the nonces) require; the first record that fails to open ends the session.
 */
export class SealedPipe {
  private partial: Array<Uint8Array> = []
  private partialBytes = 0
  broken = false

  private constructor(
    private readonly sealer: SyncRecordSealer,
    private readonly opener: SyncRecordOpener,
    private readonly write: (payload: Uint8Array) => boolean,
    private readonly onMessage: (message: MeshMessage) => void,
    private readonly onBroken: (why: string) => void
  ) {}

  static readonly make = (
    result: HandshakeResult,
    write: (payload: Uint8Array) => boolean,
    onMessage: (message: MeshMessage) => void,
    onBroken: (why: string) => void
  ) =>
    Effect.gen(function*() {
      const keys = yield* Effect.orDie(SealedSession.fromHandshake(result).streamKeys(0))
      const sealer = new SyncRecordSealer(nodeAead(keys.send), 0)
      const opener = new SyncRecordOpener(nodeAead(keys.receive), 0)
      return new SealedPipe(sealer, opener, write, onMessage, onBroken)
    })

  private fail(why: string): false {
    if (this.broken) return false
    this.broken = true
    this.onBroken(why)
    return false
  }

  /** Seals a message and hands it to the relay link; false when the session is (now) broken. */
  send(message: MeshMessage): boolean {
    if (this.broken) return false
    const bytes = new TextEncoder().encode(encodeMessage(message))
    for (let at = 0; at < bytes.length || at === 0; at += CHUNK) {
      const last = at + CHUNK >= bytes.length
      const plaintext = concat(Uint8Array.of(last ? LAST : MORE), bytes.subarray(at, at + CHUNK))
      const record = this.sealer.seal(plaintext)
      if (Either.isLeft(record)) return this.fail(record.left.message)
      if (!this.write(concat(Uint8Array.of(Kind.Record), ...record.right))) return this.fail("the relay link is down")
      if (last) break
    }
    return true
  }

  receive(record: Uint8Array): void {
    if (this.broken) return
    // One record per relay frame: a frame that does not hold exactly one whole record ends the session.
    const opened = this.opener.feed(record)
    if (Either.isLeft(opened)) return void this.fail(opened.left.message)
    if (this.opener.complete) return void this.fail("the session ended")
    const [data] = opened.right
    if (opened.right.length !== 1 || this.opener.pending) return void this.fail("a frame is not one whole record")
    if (data!.length === 0) return void this.fail("a record without its kind byte")
    this.partial.push(data!.subarray(1))
    this.partialBytes += data!.length - 1
    if (this.partialBytes > MAX_MESSAGE) return void this.fail("a message over 1 MiB")
    if (data![0] === MORE) return
    const whole = concat(...this.partial)
    this.partial = []
    this.partialBytes = 0
    const message = decodeMessage(new TextDecoder().decode(whole))
    // A message this daemon does not understand is skipped; the session itself is sound.
    if (Either.isRight(message)) this.onMessage(message.right)
  }
}
