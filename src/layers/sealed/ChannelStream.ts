import { Effect, Either, type Fiber } from "effect"
import { DATA_MAX, jsonMessage, Kind, RECORD, STREAM_WINDOW, u32, wsPieces } from "../../protocol/sealed/Channel.js"
import type { SealedSession } from "../../protocol/sealed/Session.js"
import { SyncRecordOpener, SyncRecordSealer } from "../../protocol/sealed/SyncRecords.js"
import { IncomingBody } from "../tunnel/daemon/IncomingBody.js"
import type { TunnelWebSocket } from "../tunnel/daemon/TunnelWebSocket.js"
import { SendCredit } from "../tunnel/shared/Credit.js"
import { nodeAead } from "./NodeAead.js"

/** Sealed bytes one channel message carries at most: well under the tunnel's 1 MiB frames. */
const MAX_MESSAGE = 768 * 1024
const KIND = Object.fromEntries(Object.values(Kind).map((k) => [k, Uint8Array.of(k)])) as Record<Kind, Uint8Array>

/**
 * The daemon's end of one sealed stream: its record sealer and opener (node:crypto, so a
 * record is sealed the moment it is sent and counters follow the order of sends), its send
 * credit, the request body arriving, and the records sealed in this turn of the event loop,
 * written as one channel message at its end: a small answer's head, body and end record
 * cross the relay once.
 */
export class ChannelStream {
  readonly credit = new SendCredit(STREAM_WINDOW)
  readonly body: IncomingBody
  socket: TunnelWebSocket | undefined
  fiber: Fiber.RuntimeFiber<void> | undefined
  responded = false
  done = false
  /** The pieces of a browser WebSocket message split across records. */
  wsPending: Array<Uint8Array> = []
  private pending: Array<Uint8Array> = []
  private pendingBytes = 0
  private flushing = false

  private constructor(
    readonly id: number,
    readonly opener: SyncRecordOpener,
    private readonly sealer: SyncRecordSealer,
    private readonly write: (message: Uint8Array) => void,
    private readonly forget: (id: number) => void
  ) {
    this.body = new IncomingBody((n) => this.send(Kind.Window, u32(n)))
  }

  /** A stream under the session's keys; `write` sends one channel message, in order. */
  static readonly make = (
    id: number,
    session: SealedSession,
    write: (message: Uint8Array) => void,
    forget: (id: number) => void
  ) =>
    Effect.map(session.streamKeys(id), ({ receive, send }) =>
      new ChannelStream(
        id,
        new SyncRecordOpener(nodeAead(receive), id),
        new SyncRecordSealer(nodeAead(send), id),
        write,
        forget
      ))

  /** One message of `kind`, sealed now, after those before it; nothing once the stream ended. */
  send(kind: Kind, body: Uint8Array = new Uint8Array(0)): void {
    if (this.sealer.isEnded) return
    this.queue(this.sealer.seal(KIND[kind], body))
  }

  /** A message already framed with its kind byte (WebSocket pieces and closes). */
  sendFramed(message: Uint8Array): void {
    if (this.sealer.isEnded) return
    this.queue(this.sealer.seal(message))
  }

  /** The end record: the browser knows the response is whole. */
  end(): void {
    if (this.sealer.isEnded) return
    this.queue(this.sealer.end())
  }

  private queue(record: Either.Either<ReadonlyArray<Uint8Array>, unknown>): void {
    // Only a spent counter fails here (sizes are cut to DATA_MAX): the stream cannot go on.
    if (Either.isLeft(record)) return this.abandon()
    let size = 0
    for (const piece of record.right) size += piece.length
    if (this.pendingBytes + size > MAX_MESSAGE) this.flush()
    this.pending.push(...record.right)
    this.pendingBytes += size
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(() => this.flush())
    }
  }

  private flush(): void {
    this.flushing = false
    if (this.pendingBytes === 0 && this.pending.length === 0) return
    const message = new Uint8Array(5 + this.pendingBytes)
    message[0] = RECORD
    new DataView(message.buffer).setUint32(1, this.id, false)
    let at = 5
    for (const piece of this.pending) {
      message.set(piece, at)
      at += piece.length
    }
    this.pending = []
    this.pendingBytes = 0
    this.write(message)
    if (this.sealer.isEnded) this.forget(this.id)
  }

  private abandon(): void {
    this.pending = []
    this.pendingBytes = 0
    this.abort()
    this.forget(this.id)
  }

  head(status: number, headers: ReadonlyArray<readonly [string, string]>): void {
    this.responded = true
    this.sendFramed(jsonMessage(Kind.Head, { status, headers }))
  }

  /** Body bytes under the browser's credit, waiting for it as needed. False once the stream closed. */
  data(bytes: Uint8Array): Effect.Effect<boolean> {
    // Most bodies fit the credit there is: sent without entering a generator.
    let at = 0
    while (at < bytes.length) {
      const granted = this.credit.takeNow(Math.min(DATA_MAX, bytes.length - at))
      if (granted === 0) break
      if (this.done) return Effect.succeed(false)
      this.send(Kind.Data, bytes.subarray(at, at + granted))
      at += granted
    }
    if (at >= bytes.length) return Effect.succeed(!this.done)
    return Effect.gen(this, function*() {
      while (at < bytes.length) {
        const want = Math.min(DATA_MAX, bytes.length - at)
        const now = this.credit.takeNow(want)
        const granted = now > 0 ? now : yield* Effect.promise(() => this.credit.take(want))
        if (granted === 0 || this.done) return false
        this.send(Kind.Data, bytes.subarray(at, at + granted))
        at += granted
      }
      return !this.done
    })
  }

  wsMessage(body: Uint8Array, text: boolean): void {
    for (const piece of wsPieces(body, text)) this.sendFramed(piece)
  }

  /** Ends the stream with a reason the browser sees. */
  reset(message: string): void {
    this.send(Kind.Reset, new TextEncoder().encode(message.slice(0, 200)))
    this.end()
    this.abort()
  }

  /** Stops all work on the stream (the browser cancelled, the channel closed, or a reset). */
  abort(): void {
    if (this.done) return
    this.done = true
    this.credit.close()
    this.body.fail(new Error("the sealed stream was closed"))
    this.socket?.remoteClose(1006, "sealed stream closed")
  }
}
