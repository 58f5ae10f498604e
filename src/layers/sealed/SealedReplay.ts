import { HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { Cause, Effect, Exit, Scope, Stream } from "effect"
import { Kind, type RequestHead, wsClose } from "../../protocol/sealed/Channel.js"
import type { DaemonHttpApp } from "../../services/LocalApp.js"
import { SealedDevice, Tunnelled } from "../../services/RequestContext.js"
import { tunnelRequest } from "../tunnel/daemon/TunnelRequest.js"
import { TunnelWebSocket } from "../tunnel/daemon/TunnelWebSocket.js"
import type { ChannelStream } from "./ChannelStream.js"

type Pairs = Array<[string, string]>

const headersOf = (response: HttpServerResponse.HttpServerResponse): Pairs =>
  Object.entries(response.headers).filter(([name]) => name !== "set-cookie" && name !== "content-length")

/** A WebSocket request's `upgrade`: a Socket whose messages travel sealed on the stream. */
const upgradeOf = (stream: ChannelStream) =>
  Effect.suspend(() => {
    if (stream.responded || stream.done) return Effect.die(new Error("already answered"))
    const socket = new TunnelWebSocket(
      stream.credit,
      (body, text) => stream.wsMessage(body, text),
      (code, reason) => stream.sendFramed(wsClose(code, reason))
    )
    stream.socket = socket
    stream.head(101, [])
    return Socket.fromWebSocket(Effect.succeed(socket as unknown as globalThis.WebSocket))
  })

const sendResponse = (stream: ChannelStream, head: RequestHead, response: HttpServerResponse.HttpServerResponse) =>
  Effect.gen(function*() {
    const body = response.body
    const bodyless = head.method === "HEAD"
    if (body._tag === "Uint8Array" || body._tag === "Empty") {
      const headers = headersOf(response)
      const bytes = body._tag === "Uint8Array" ? body.body : new Uint8Array(0)
      if (body._tag === "Uint8Array" && response.headers["content-type"] === undefined) {
        headers.push(["content-type", body.contentType])
      }
      headers.push(["content-length", String(bytes.length)])
      stream.head(response.status, headers)
      if (!bodyless && !(yield* stream.data(bytes))) return
    } else if (body._tag === "Stream" && !bodyless) {
      const headers = headersOf(response)
      stream.head(response.status, headers)
      yield* Stream.runForEach(
        body.stream,
        (chunk) => Effect.flatMap(stream.data(chunk), (open) => open ? Effect.void : Effect.interrupt)
      )
    } else {
      const web = HttpServerResponse.toWeb(response, { withoutBody: bodyless, runtime: yield* Effect.runtime<never>() })
      const headers: Pairs = []
      web.headers.forEach((value, name) => name !== "set-cookie" && headers.push([name, value]))
      stream.head(web.status, headers)
      if (web.body !== null) {
        const reader = web.body.getReader()
        yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel().catch(() => undefined)))
        while (true) {
          const next = yield* Effect.promise(() => reader.read())
          if (next.done) break
          if (!(yield* stream.data(next.value))) return
        }
      }
    }
    stream.end()
  }).pipe(Effect.scoped)

const failed = (stream: ChannelStream, message: string) => {
  if (stream.done) return
  if (stream.responded) return stream.reset(message)
  const body = new TextEncoder().encode(JSON.stringify({ error: { code: "internal", message } }))
  stream.head(500, [["content-type", "application/json"], ["content-length", String(body.length)]])
  stream.send(Kind.Data, body)
  stream.end()
}

/**
 * One sealed request replayed into the daemon's own app exactly as a tunnelled one (so the
 * tunnel allow-list and the via:relay access rules hold), marked with the device that sealed
 * it, and its response sealed back under the stream's credit.
 */
export const replay = (app: DaemonHttpApp, stream: ChannelStream, head: RequestHead, deviceId: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const upgrade = head.upgrade === true
    const request = tunnelRequest(
      { ...head, upgrade },
      () => stream.body.stream,
      upgrade ? upgradeOf(stream) : undefined
    )
    const exit = yield* app.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, request),
      Effect.provideService(Tunnelled, true),
      Effect.provideService(SealedDevice, deviceId),
      Scope.extend(scope),
      Effect.exit
    )
    yield* Effect.gen(function*() {
      if (stream.done) return
      if (stream.socket !== undefined) {
        stream.socket.close(1000, "")
        return stream.end()
      }
      if (Exit.isFailure(exit)) {
        yield* Effect.logWarning("sealed request failed", Cause.pretty(exit.cause))
        return failed(stream, "the daemon failed to answer")
      }
      yield* sendResponse(stream, head, exit.value)
    }).pipe(Effect.ensuring(Scope.close(scope, Exit.void)))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => failed(stream, "the daemon failed"))
    )
  )
