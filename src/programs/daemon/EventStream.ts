import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Fiber, Schema, Stream } from "effect"
import { BadRequest, errorResponse } from "../../protocol/Errors.js"
import { MeshEvent } from "../../protocol/MeshEvent.js"
import { EventLog } from "../../services/EventLog.js"
import { liveReadFilter } from "./PolicyChecks.js"

const encodeEvent = Schema.encodeSync(Schema.parseJson(MeshEvent))
const encoder = new TextEncoder()
const KEEPALIVE = "15 seconds"

const sinceOf = (request: HttpServerRequest.HttpServerRequest) => {
  const url = new URL(request.url, "http://localhost")
  const raw = request.headers["last-event-id"] ?? url.searchParams.get("since") ?? "0"
  const since = Number(raw)
  return Number.isSafeInteger(since) && since >= 0 ? since : undefined
}

const badSince = errorResponse(new BadRequest({ message: "since / Last-Event-ID must be a non-negative integer" }))

/** SSE: `id:` lines make EventSource resume with Last-Event-ID on its own. */
const sse = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const log = yield* EventLog
  const since = sinceOf(request)
  if (since === undefined) return badSince
  const visible = yield* liveReadFilter
  const events = Stream.unwrapScoped(log.follow(since)).pipe(
    Stream.filter(visible.event),
    Stream.map((event) => `id: ${event.id}\nevent: mesh\ndata: ${encodeEvent(event)}\n\n`)
  )
  const keepalive = Stream.tick(KEEPALIVE).pipe(Stream.drop(1), Stream.as(": keepalive\n\n"))
  const body = Stream.make(": connected\n\n").pipe(
    Stream.concat(Stream.merge(events, keepalive, { haltStrategy: "left" })),
    Stream.map((chunk) => encoder.encode(chunk))
  )
  return HttpServerResponse.stream(body, {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" }
  })
})

/** The same stream over a WebSocket, one JSON event per text frame. */
const websocket = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const log = yield* EventLog
  const since = sinceOf(request)
  if (since === undefined) return badSince
  const visible = yield* liveReadFilter
  const socket = yield* request.upgrade
  const write = yield* socket.writer
  const pump = yield* Stream.unwrapScoped(log.follow(since)).pipe(
    Stream.filter(visible.event),
    Stream.runForEach((event) => write(encodeEvent(event))),
    Effect.fork
  )
  yield* socket.runRaw(() => Effect.void).pipe(
    Effect.catchAll(() => Effect.void),
    Effect.ensuring(Fiber.interrupt(pump))
  )
  return HttpServerResponse.empty()
})

export const EventStreamRoutes = HttpLayerRouter.addAll([
  HttpLayerRouter.route("GET", "/events/stream", sse),
  HttpLayerRouter.route("GET", "/events/ws", websocket)
])
