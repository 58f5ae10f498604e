import { Socket } from "@effect/platform"
import { Effect, Fiber, Layer, Queue } from "effect"
import { concat } from "../../protocol/sealed/Bytes.js"
import {
  CLOSE_BROKEN,
  CLOSE_NOT_PAIRED,
  CLOSE_REVOKED,
  decodeOuter,
  decodeRequestHead,
  handshakeMessage,
  Kind,
  MAX_STREAMS,
  readU32,
  readWsClose,
  readWsMessage,
  splitInner,
  u32
} from "../../protocol/sealed/Channel.js"
import type { Opened } from "../../protocol/sealed/Records.js"
import { LocalApp } from "../../services/LocalApp.js"
import { SealedChannels } from "../../services/SealedChannels.js"
import { type OpenSession, SealedSessions } from "../../services/SealedSessions.js"
import { ChannelStream } from "./ChannelStream.js"
import { replay } from "./SealedReplay.js"

const encoder = new TextEncoder()

/** Ended stream ids beyond the last gap-free run from 1 (the browser numbers its streams 1, 2, 3, ...). */
const MAX_ENDED = 4096

/**
 * The stream ids a channel has ended: every id up to `floor`, and the few above it that ended
 * before a lower one (streams finish out of order). Small as long as the browser counts up.
 */
class EndedIds {
  private floor = 0
  private readonly above = new Set<number>()
  get size(): number {
    return this.above.size
  }
  has(id: number): boolean {
    return id <= this.floor || this.above.has(id)
  }
  add(id: number): void {
    this.above.add(id)
    while (this.above.delete(this.floor + 1)) this.floor++
  }
}

const bytesOf = (data: string | Uint8Array | ArrayBuffer) =>
  typeof data === "string" ? encoder.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data)

export const SealedChannelsLive = Layer.effect(
  SealedChannels,
  Effect.gen(function*() {
    const sessions = yield* SealedSessions
    const local = yield* LocalApp

    const serve = Effect.fn("SealedChannels.serve")(function*(socket: Socket.Socket) {
      const write = yield* socket.writer
      // Sealed messages leave in the order they were sealed: written now, not from a fiber each.
      // The socket is open by then, so the write completes synchronously.
      const writeNow = (message: Uint8Array): void => void Effect.runSyncExit(write(message))
      const close = (code: number, reason: string) => Effect.ignore(write(new Socket.CloseEvent(code, reason)))
      const inbox = yield* Queue.unbounded<Uint8Array>()
      const streams = new Map<number, ChannelStream>()
      const ended = new EndedIds()
      const app = yield* local.app

      /** The next message, which must be a handshake one. */
      const nextHandshake = Effect.flatMap(Queue.take(inbox), (message) => {
        const outer = decodeOuter(message)
        return outer?._tag === "Handshake" ? Effect.succeed(outer.noise) : Effect.fail("out of turn" as const)
      })

      const handshake = Effect.gen(function*() {
        const begun = yield* sessions.begin(yield* nextHandshake)
        yield* write(handshakeMessage(begun.reply))
        return yield* begun.finish(yield* nextHandshake)
      })

      const onMessage = (open: OpenSession, stream: ChannelStream, opened: Opened) =>
        Effect.gen(function*() {
          if (opened._tag === "End") {
            // The browser wants nothing more: the work stops, the daemon's side ends too.
            stream.abort()
            stream.end()
            if (stream.fiber !== undefined) yield* Fiber.interrupt(stream.fiber).pipe(Effect.forkDaemon)
            return
          }
          const { body, kind } = splitInner(opened.data)
          switch (kind) {
            case Kind.Head: {
              const head = decodeRequestHead(body)
              if (head === undefined || stream.fiber !== undefined) return stream.reset("a malformed request head")
              stream.fiber = yield* Effect.forkScoped(replay(app, stream, head, open.device.id))
              return
            }
            case Kind.Data:
              if (!stream.body.push(body, false)) stream.reset("the request body exceeded its window")
              return
            case Kind.BodyEnd:
              stream.body.push(new Uint8Array(0), true)
              return
            case Kind.Window: {
              const n = readU32(body)
              return n === undefined ? stream.reset("a malformed window") : stream.credit.add(n)
            }
            case Kind.WsMessage: {
              const piece = readWsMessage(body)
              stream.wsPending.push(piece.data)
              if (piece.more) return
              const whole = concat(...stream.wsPending)
              stream.wsPending = []
              stream.socket?.deliver(whole, piece.text)
              // The browser's credit covers WebSocket messages too: granted back once delivered.
              return stream.send(Kind.Window, u32(Math.max(1, whole.length)))
            }
            case Kind.WsClose: {
              const { code, reason } = readWsClose(body)
              return stream.socket?.remoteClose(code, reason)
            }
            case Kind.Cancel:
              stream.abort()
              if (stream.fiber !== undefined) yield* Fiber.interrupt(stream.fiber).pipe(Effect.forkDaemon)
              return stream.end()
            default:
              return stream.reset("an unknown message kind")
          }
        })

      const run = (open: OpenSession) =>
        Effect.gen(function*() {
          while (true) {
            const outer = decodeOuter(yield* Queue.take(inbox))
            if (outer?._tag !== "Record") return yield* close(CLOSE_BROKEN, "a malformed channel message")
            let stream = streams.get(outer.stream)
            if (stream === undefined) {
              // A stream the daemon already ended: a late window or cancel, of no further use.
              if (ended.has(outer.stream)) continue
              if (streams.size >= MAX_STREAMS || ended.size > MAX_ENDED) {
                return yield* close(CLOSE_BROKEN, "too many streams open or left out of order")
              }
              stream = yield* ChannelStream.make(outer.stream, open.session, writeNow, (id) => {
                streams.delete(id)
                ended.add(id)
              })
              streams.set(outer.stream, stream)
            }
            const opened = stream.opener.feed(outer.record)
            if (opened._tag === "Left") {
              stream.reset(opened.left.message)
              continue
            }
            for (const plaintext of opened.right) yield* onMessage(open, stream, { _tag: "Data", data: plaintext })
            if (stream.opener.complete) yield* onMessage(open, stream, { _tag: "End" })
          }
        })

      const main = Effect.gen(function*() {
        const opened = yield* Effect.either(handshake)
        if (opened._tag === "Left") return yield* close(CLOSE_NOT_PAIRED, "this browser is not paired with the daemon")
        const open = opened.right
        // Accepted: the browser's `open` waits for this, so a refused key is an error there, not a later close.
        yield* write(handshakeMessage(new Uint8Array(0)))
        yield* Effect.raceFirst(
          run(open),
          Effect.zipRight(open.revoked, close(CLOSE_REVOKED, "this browser's pairing was revoked"))
        )
      }).pipe(Effect.ensuring(Effect.sync(() => {
        for (const stream of streams.values()) stream.abort()
      })))

      const mainFiber = yield* Effect.forkScoped(main)
      yield* socket.runRaw((data) => {
        Queue.unsafeOffer(inbox, bytesOf(data as string | Uint8Array | ArrayBuffer))
      }).pipe(
        Effect.raceFirst(Fiber.join(mainFiber)),
        Effect.ignore
      )
      for (const stream of streams.values()) {
        stream.abort()
        if (stream.fiber !== undefined) yield* Fiber.interrupt(stream.fiber).pipe(Effect.forkDaemon)
      }
    })

    return SealedChannels.of({ serve })
  })
)
