import { HttpLayerRouter, HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { Cause, Duration, Effect, Fiber, Option, Ref, Schema } from "effect"
import { ClientFrameJson, CloseCode, type ServerFrame } from "../../protocol/AgentFrame.js"
import { describeParseError } from "../../protocol/Issues.js"
import type { Peer } from "../../protocol/Peer.js"
import { AuthToken, bearerOf } from "../../services/AuthToken.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { type Transport, Transports } from "../../services/Transports.js"

const decodeFrame = Schema.decodeUnknownEither(ClientFrameJson)
// Server frames are built typed, and their encoded form is their type: no Schema pass per send.
const encodeFrame = (frame: ServerFrame): string => JSON.stringify(frame)

const OPEN = 1
const sendNow = (ws: globalThis.WebSocket, frame: ServerFrame) => {
  if (ws.readyState !== OPEN) return false
  ws.send(encodeFrame(frame))
  return true
}
const textDecoder = new TextDecoder()

const HANDSHAKE = Duration.seconds(5)
// Each ping is work on an idle daemon: often enough to find a dead link within ~75 s, no more.
const PING_EVERY = Duration.seconds(30)
const MAX_FRAME = 1024 * 1024

let nextTransportId = 0

/**
 * One agent transport. The first frame must be `connect` (peer id + peer token, and the
 * daemon's auth token when it has one); then the daemon pushes messages and pings, and the
 * client confirms each message with `delivery_ack`. Bad frames close with a 4xxx code.
 */
const handle = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const auth = yield* AuthToken
  const client = Option.getOrElse(request.remoteAddress, () => "local")
  const registry = yield* PeerRegistry
  const router = yield* MessageRouter
  const transports = yield* Transports
  const socket = yield* request.upgrade
  const write = yield* socket.writer
  const id = ++nextTransportId
  const peerRef = yield* Ref.make(Option.none<Peer>())
  let lastPong = Date.now()
  const lock = yield* Effect.makeSemaphore(1)
  const headerToken = bearerOf(request.headers["authorization"])

  const close = (code: number, reason: string) =>
    write(new Socket.CloseEvent(code, reason.slice(0, 120))).pipe(Effect.ignore)
  // Set on connect. Sends write straight to the socket: a broadcast hands out its frames in
  // one synchronous pass instead of one effect per recipient.
  let transport: Transport | undefined

  const connect = Effect.fnUntraced(function*(frame: Extract<typeof ClientFrameJson.Type, { type: "connect" }>) {
    const check = auth.check(frame.auth_token ?? headerToken, client)
    if (check === "limited") return yield* close(CloseCode.Unauthorized, "too many wrong auth tokens; wait a minute")
    if (check !== "ok") return yield* close(CloseCode.Unauthorized, "this daemon requires its auth token")
    const known = yield* registry.get(frame.peer_id)
    if (Option.isNone(known)) return yield* close(CloseCode.UnknownPeer, `unknown peer ${frame.peer_id}`)
    const authenticated = yield* Effect.either(registry.authenticate(frame.peer_id, frame.token))
    if (authenticated._tag === "Left") return yield* close(CloseCode.Unauthorized, "wrong peer token")
    const peer = authenticated.right
    // The socket's own handler context carries the underlying WebSocket.
    const ws = yield* Effect.serviceOption(Socket.WebSocket)
    if (Option.isNone(ws)) return yield* close(CloseCode.InternalError, "the connection has no socket")
    const current: Transport = { id, send: (frame) => sendNow(ws.value, frame), close }
    transport = current
    yield* Ref.set(peerRef, Option.some(peer))
    yield* transports.attach(peer.peer_id, current)
    current.send({ type: "connected", peer_id: peer.peer_id, display_name: peer.display_name, circle: peer.circle })
    yield* router.flush(peer.peer_id)
  })

  /** Frames are decoded as they arrive; a pong needs no effect at all (the idle daemon's only traffic). */
  const onFrame = (data: string | Uint8Array) => {
    try {
      return onRawFrame(data)
    } catch (defect) {
      return failed(Cause.die(defect))
    }
  }

  /** A bug, never the client's doing: logged, and this connection closed with 1011. */
  const failed = (cause: Cause.Cause<unknown>) =>
    Effect.zipRight(Effect.logError("agent socket failed", cause), close(CloseCode.InternalError, "internal error"))

  const onRawFrame = (data: string | Uint8Array) => {
    const size = typeof data === "string" ? data.length : data.byteLength
    if (size > MAX_FRAME) return close(CloseCode.TooLarge, `frames are at most ${MAX_FRAME} bytes`)
    const decoded = decodeFrame(typeof data === "string" ? data : textDecoder.decode(data))
    if (decoded._tag === "Left") {
      return close(CloseCode.MalformedFrame, `malformed frame: ${describeParseError(decoded.left)}`)
    }
    if (decoded.right.type === "pong" && transport !== undefined) {
      lastPong = Date.now()
      return
    }
    return onDecoded(decoded.right)
  }

  const onDecoded = (frame: typeof ClientFrameJson.Type) =>
    lock.withPermits(1)(Effect.gen(function*() {
      const peer = yield* Ref.get(peerRef)
      if (Option.isNone(peer)) {
        if (frame.type !== "connect") return yield* close(CloseCode.ConnectExpected, "the first frame must be connect")
        return yield* connect(frame)
      }
      switch (frame.type) {
        case "connect":
          return yield* close(CloseCode.ConnectExpected, "connect was already sent on this connection")
        case "pong":
          lastPong = Date.now()
          return
        case "delivery_ack":
          return yield* router.confirm(peer.value.peer_id, frame.message_id, frame.outcome, frame.detail)
        case "status":
          if (frame.description !== undefined) {
            yield* registry.setDescription(peer.value.peer_id, frame.description).pipe(Effect.ignore)
          }
          return yield* registry.setStatus(peer.value.peer_id, frame.status).pipe(Effect.ignore)
      }
    })).pipe(Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : failed(cause)))

  const handshakeTimeout = yield* Effect.sleep(HANDSHAKE).pipe(
    Effect.zipRight(Ref.get(peerRef)),
    Effect.flatMap((peer) =>
      Option.isNone(peer) ? close(CloseCode.HandshakeTimeout, "no connect frame within 5 seconds") : Effect.void
    ),
    Effect.fork
  )
  const keepalive = yield* Effect.gen(function*() {
    for (let n = 0;; n++) {
      yield* Effect.sleep(PING_EVERY)
      if (Date.now() - lastPong > Duration.toMillis(PING_EVERY) * 2.5) {
        return yield* close(CloseCode.Unresponsive, "no pong to the last pings")
      }
      if (transport !== undefined) transport.send({ type: "ping", nonce: String(n) })
    }
  }).pipe(Effect.fork)

  yield* socket.runRaw(onFrame).pipe(
    Effect.catchAll((error) => Effect.logDebug("agent socket closed", error)),
    Effect.ensuring(Effect.gen(function*() {
      yield* Fiber.interrupt(handshakeTimeout)
      yield* Fiber.interrupt(keepalive)
      const peer = yield* Ref.get(peerRef)
      if (Option.isSome(peer) && transport !== undefined && (yield* transports.detach(peer.value.peer_id, transport))) {
        yield* registry.setStatus(peer.value.peer_id, "offline").pipe(Effect.ignore)
      }
    }))
  )
  return HttpServerResponse.empty()
})

export const AgentSocketRoute = HttpLayerRouter.add("GET", "/ws", handle)
