import { Chunk, Effect, type Fiber, Queue } from "effect"
import { concat } from "../../protocol/sealed/Bytes.js"
import {
  DATA_MAX,
  inner,
  jsonMessage,
  Kind,
  MAX_BATCH,
  recordMessage,
  STREAM_WINDOW,
  u32,
  wsPieces
} from "../../protocol/sealed/Channel.js"
import type { RecordOpener, RecordSealer } from "../../protocol/sealed/Records.js"
import type { SealedSession } from "../../protocol/sealed/Session.js"
import { IncomingBody } from "../tunnel/daemon/IncomingBody.js"
import type { TunnelWebSocket } from "../tunnel/daemon/TunnelWebSocket.js"
import { SendCredit } from "../tunnel/shared/Credit.js"

const END = Symbol("end")

/**
 * The daemon's end of one sealed stream: its two record keys, its send credit, the request
 * body arriving, and an outbox that seals messages in the order they were put in (sealing
 * is asynchronous; records must leave in counter order).
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
  private ended = false

  private constructor(
    readonly id: number,
    readonly opener: RecordOpener,
    private readonly outbox: Queue.Queue<Uint8Array | typeof END>
  ) {
    this.body = new IncomingBody((n) => this.send(inner(Kind.Window, u32(n))))
  }

  /** A stream and the fiber (in the caller's scope) that seals and writes its outbox. */
  static readonly make = (
    id: number,
    session: SealedSession,
    write: (message: Uint8Array) => Effect.Effect<void, unknown>,
    forget: (id: number) => void
  ) =>
    Effect.gen(function*() {
      const [opener, sealer]: [RecordOpener, RecordSealer] = yield* Effect.all(
        [session.incoming(id), session.outgoing(id)],
        { concurrency: 2 }
      )
      const outbox = yield* Queue.unbounded<Uint8Array | typeof END>()
      // What is queued goes out as one message: a small answer's head, body and end cross the relay once.
      const drain = Effect.gen(function*() {
        while (true) {
          const batch = Chunk.toReadonlyArray(yield* Queue.takeBetween(outbox, 1, MAX_BATCH))
          // Counters are taken in order as each seal is made; the encryptions then run side by side.
          const sealing = batch.map((next) => next === END ? sealer.end() : sealer.seal(next))
          const records = yield* Effect.all(sealing, { concurrency: "unbounded" })
          yield* write(recordMessage(id, records.length === 1 ? records[0]! : concat(...records)))
          if (batch.includes(END)) return forget(id)
        }
      }).pipe(Effect.catchAll(() => Effect.sync(() => forget(id))))
      yield* Effect.forkScoped(drain)
      return new ChannelStream(id, opener, outbox)
    })

  /** One message, sealed after those before it; nothing once the stream ended. */
  send(message: Uint8Array): void {
    if (!this.ended) Queue.unsafeOffer(this.outbox, message)
  }

  /** The end record: the browser knows the response is whole. */
  end(): void {
    if (this.ended) return
    this.ended = true
    Queue.unsafeOffer(this.outbox, END)
  }

  head(status: number, headers: ReadonlyArray<readonly [string, string]>): void {
    this.responded = true
    this.send(jsonMessage(Kind.Head, { status, headers }))
  }

  /** Body bytes under the browser's credit, waiting for it as needed. False once the stream closed. */
  data(bytes: Uint8Array): Effect.Effect<boolean> {
    return Effect.gen(this, function*() {
      let at = 0
      while (at < bytes.length) {
        const want = Math.min(DATA_MAX, bytes.length - at)
        const now = this.credit.takeNow(want)
        const granted = now > 0 ? now : yield* Effect.promise(() => this.credit.take(want))
        if (granted === 0 || this.done) return false
        this.send(inner(Kind.Data, bytes.subarray(at, at + granted)))
        at += granted
      }
      return !this.done
    })
  }

  wsMessage(body: Uint8Array, text: boolean): void {
    for (const piece of wsPieces(body, text)) this.send(piece)
  }

  /** Ends the stream with a reason the browser sees. */
  reset(message: string): void {
    this.send(inner(Kind.Reset, new TextEncoder().encode(message.slice(0, 200))))
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
