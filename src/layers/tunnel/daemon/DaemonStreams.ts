import { HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { Cause, Effect, Either, Exit, Fiber, Runtime, Scope, Stream } from "effect"
import {
  dataFrameHead,
  decodeFrame,
  encodeFrame,
  Frames,
  INITIAL_WINDOW,
  type RequestHead,
  type ResetCode,
  type TunnelFrame
} from "../../../protocol/TunnelFrame.js"
import { isTunnelAllowed } from "../../../protocol/TunnelRoutes.js"
import { Tunnelled } from "../../../services/RequestContext.js"
import { SendCredit } from "../shared/Credit.js"
import { SPLIT_MIN } from "../shared/SplitSend.js"
import type { Link } from "./Dialer.js"
import { IncomingBody } from "./IncomingBody.js"
import { type BodyOut, type BodyStream, pullBody, sendBytes, sendWebBody } from "./ResponseBody.js"
import { tunnelRequest } from "./TunnelRequest.js"
import { TunnelWebSocket } from "./TunnelWebSocket.js"

/** The daemon's HTTP app as the tunnel runs it: one request in, one response out. */
export type TunnelApp<E, R> = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  R | HttpServerRequest.HttpServerRequest | Scope.Scope
>

/** What the app needs beyond the request and its scope, which the tunnel provides. */
export type AppContext<R> = Exclude<R, HttpServerRequest.HttpServerRequest | Scope.Scope>

interface DaemonStream extends BodyStream {
  readonly body: IncomingBody
  fiber: Fiber.RuntimeFiber<void> | undefined
  socket: TunnelWebSocket | undefined
}

/**
 * The daemon's end of one tunnel connection: each Open frame becomes a request run in-process
 * through the daemon's own app with `Tunnelled` set, and its response is streamed back under
 * the relay's credit.
 */
export class DaemonStreams<E, R> {
  private readonly streams = new Map<number, DaemonStream>()

  constructor(
    private readonly app: TunnelApp<E, R>,
    private readonly runtime: Runtime.Runtime<AppContext<R>>,
    private readonly link: Link
  ) {}

  get size(): number {
    return this.streams.size
  }

  private out(stream: DaemonStream): BodyOut {
    return {
      send: (frame) => this.send(frame),
      finish: () => this.finish(stream),
      reset: (code, message) => this.reset(stream.id, code, message)
    }
  }

  private send(frame: TunnelFrame) {
    // Body pieces go out without being copied behind their frame header.
    if (frame._tag === "Data" && frame.body.length >= SPLIT_MIN) {
      this.link.sendParts(dataFrameHead(frame.stream, frame.body.length, frame.end), frame.body)
    } else {
      this.link.send(encodeFrame(frame))
    }
  }

  receive(data: Uint8Array): void {
    const decoded = decodeFrame(data)
    if (Either.isLeft(decoded)) {
      const { code, message, stream } = decoded.left
      if (stream !== null) this.reset(stream, "protocol_error", `${code}: ${message}`)
      return
    }
    const frame = decoded.right
    if (frame._tag === "GoAway") return
    if (frame._tag === "Open") {
      if (this.streams.has(frame.stream)) return this.reset(frame.stream, "protocol_error", "stream id in use")
      return this.open(frame.stream, frame.head)
    }
    const stream = this.streams.get(frame.stream)
    if (stream === undefined) {
      if (frame._tag === "Data" || frame._tag === "WsMessage" || frame._tag === "Response") {
        this.send(Frames.reset(frame.stream, "protocol_error", "unknown stream"))
      }
      return
    }
    switch (frame._tag) {
      case "Data":
        if (!stream.body.push(frame.body, frame.end)) this.reset(stream.id, "flow_control", "window exceeded")
        return
      case "Window":
        return stream.down.add(frame.increment)
      case "Reset":
        return this.abort(stream)
      case "WsMessage":
        if (stream.socket === undefined) return this.reset(stream.id, "protocol_error", "not a WebSocket stream")
        stream.socket.deliver(frame.body, frame.text)
        return this.send(Frames.window(stream.id, Math.max(1, frame.body.length)))
      case "WsClose":
        return stream.socket?.remoteClose(frame.code, frame.reason)
      case "Response":
        return this.reset(stream.id, "protocol_error", "the relay cannot answer requests")
    }
  }

  /** The tunnel is gone: every stream ends (the relay has already failed them on its side). */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) this.abort(stream)
  }

  private reset(id: number, code: ResetCode, message: string) {
    this.send(Frames.reset(id, code, message))
    const stream = this.streams.get(id)
    if (stream !== undefined) this.abort(stream)
  }

  private abort(stream: DaemonStream) {
    if (stream.done) return
    stream.done = true
    this.streams.delete(stream.id)
    stream.down.close()
    stream.body.fail(new Error("the tunnel stream was reset"))
    stream.socket?.remoteClose(1006, "tunnel stream reset")
    void stream.reader?.cancel().catch(() => undefined)
    if (stream.pulling !== undefined) Runtime.runFork(this.runtime)(Fiber.interrupt(stream.pulling))
    if (stream.fiber !== undefined) Runtime.runFork(this.runtime)(Fiber.interrupt(stream.fiber))
  }

  private finish(stream: DaemonStream) {
    stream.done = true
    stream.down.close()
    this.streams.delete(stream.id)
  }

  private open(id: number, head: RequestHead) {
    const stream: DaemonStream = {
      id,
      down: new SendCredit(INITIAL_WINDOW),
      body: new IncomingBody((n) => !stream.done && this.send(Frames.window(id, n))),
      fiber: undefined,
      reader: undefined,
      pulling: undefined,
      socket: undefined,
      responded: false,
      done: false
    }
    this.streams.set(id, stream)
    if (!isTunnelAllowed(head.method, head.path)) {
      this.respondError(stream, 404, "not available through the relay")
      return
    }
    stream.fiber = Runtime.runFork(this.runtime)(this.serve(stream, head))
  }

  private respondError(stream: DaemonStream, status: number, message: string) {
    const body = new TextEncoder().encode(
      JSON.stringify({ error: { code: status === 404 ? "not_found" : "internal", message } })
    )
    stream.responded = true
    this.send(Frames.response(stream.id, { status, headers: [["content-type", "application/json"]] }))
    this.send(Frames.data(stream.id, body, true))
    this.finish(stream)
  }

  private request(stream: DaemonStream, head: RequestHead): HttpServerRequest.HttpServerRequest {
    const upgrade = Effect.suspend(() => {
      if (stream.responded || stream.done) return Effect.die(new Error("already answered"))
      stream.responded = true
      const socket = new TunnelWebSocket(
        stream.down,
        (body, text) => !stream.done && this.send(Frames.wsMessage(stream.id, body, text)),
        (code, reason) => !stream.done && this.send(Frames.wsClose(stream.id, code, reason.slice(0, 120)))
      )
      stream.socket = socket
      this.send(Frames.response(stream.id, { status: 101, headers: [] }))
      return Socket.fromWebSocket(Effect.succeed(socket as unknown as globalThis.WebSocket))
    })
    return tunnelRequest(head, () => stream.body.stream, head.upgrade ? upgrade : undefined)
  }

  private serve(stream: DaemonStream, head: RequestHead): Effect.Effect<void, never, AppContext<R>> {
    const self = this
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const exit = yield* self.app.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, self.request(stream, head)),
        Effect.provideService(Tunnelled, true),
        Scope.extend(scope),
        Effect.exit
      )
      if (stream.done) return yield* Scope.close(scope, Exit.void)
      if (stream.socket !== undefined) {
        stream.socket.close(1000, "")
        self.send(Frames.data(stream.id, new Uint8Array(0), true))
        self.finish(stream)
        return yield* Scope.close(scope, Exit.void)
      }
      if (Exit.isFailure(exit)) {
        yield* Effect.logWarning("tunnelled request failed", Cause.pretty(exit.cause))
        self.respondError(stream, 500, "the daemon failed to answer")
        return yield* Scope.close(scope, Exit.void)
      }
      const plain = exit.value.body
      if (plain._tag === "Uint8Array" || plain._tag === "Empty") {
        // Small JSON answers skip the web Response round trip.
        const headers = Object.entries(exit.value.headers).filter(([name]) =>
          name !== "set-cookie" && name !== "content-length"
        )
        const bytes = plain._tag === "Uint8Array" && head.method !== "HEAD" ? plain.body : new Uint8Array(0)
        if (plain._tag === "Uint8Array" && exit.value.headers["content-type"] === undefined) {
          headers.push(["content-type", plain.contentType])
        }
        headers.push(["content-length", String(plain._tag === "Uint8Array" ? plain.body.length : 0)])
        return yield* sendBytes(self.out(stream), stream, exit.value.status, headers, bytes).pipe(
          Effect.ensuring(Scope.close(scope, Exit.void))
        )
      }
      const runtime = yield* Effect.runtime<never>()
      if (plain._tag === "Stream" && head.method !== "HEAD") {
        const headers = Object.entries(exit.value.headers).filter(([name]) => name !== "set-cookie")
        const pull = yield* Scope.extend(Stream.toPull(plain.stream), scope)
        const out = self.out(stream)
        return yield* Effect.promise(() => pullBody(out, stream, exit.value.status, headers, pull, runtime)).pipe(
          Effect.ensuring(Scope.close(scope, Exit.void))
        )
      }
      const response = HttpServerResponse.toWeb(exit.value, { withoutBody: head.method === "HEAD", runtime })
      yield* Effect.promise(() => sendWebBody(self.out(stream), stream, response)).pipe(
        Effect.ensuring(Scope.close(scope, Exit.void))
      )
    }).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Effect.sync(() =>
            stream.responded
              ? this.reset(stream.id, "internal", "the daemon failed")
              : this.respondError(stream, 500, "the daemon failed to answer")
          )
      )
    ) as Effect.Effect<void, never, AppContext<R>>
  }
}
