import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import { Forbidden } from "../../protocol/Errors.js"
import { PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { Asks } from "../../services/Asks.js"
import { Deliveries } from "../../services/Deliveries.js"
import { EventLog } from "../../services/EventLog.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { TunnelClient } from "../../services/TunnelClient.js"
import { VERSION } from "../../Version.js"
import { authorizeFor, currentSender } from "./Caller.js"

const startedAt = Date.now()

const HealthHandlers = HttpApiBuilder.group(DaemonApi, "health", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const tunnel = yield* TunnelClient
    return handlers.handle("health", () =>
      Effect.all({ peers: registry.counts, relay: tunnel.status }).pipe(
        Effect.map(({ peers, relay }) => ({
          ok: true,
          version: VERSION,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          peers,
          relay
        }))
      ))
  }))

const PeersHandlers = HttpApiBuilder.group(DaemonApi, "peers", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const changeable = (ref: string) => Effect.tap(registry.resolve(ref), authorizeFor)
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.map(registry.list({ circle: urlParams.circle, status: urlParams.status, all: urlParams.all }), (peers) => ({
          peers
        })))
      .handle("get", ({ path }) => registry.resolve(path.ref))
      .handle("register", ({ payload }) =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          registry.register(payload, request.headers[PEER_TOKEN_HEADER])))
      .handle("remove", ({ path }) =>
        changeable(path.ref).pipe(
          Effect.flatMap((peer) => registry.remove(peer.peer_id)),
          Effect.map((peer) => ({ removed: peer.peer_id }))
        ))
      .handle("setDescription", ({ path, payload }) =>
        Effect.flatMap(changeable(path.ref), (peer) => registry.setDescription(peer.peer_id, payload.description)))
      .handle("setCircle", ({ path, payload }) =>
        Effect.flatMap(changeable(path.ref), (peer) => registry.setCircle(peer.peer_id, payload.circle)))
      .handle("setStatus", ({ path, payload }) =>
        Effect.flatMap(changeable(path.ref), (peer) => registry.setStatus(peer.peer_id, payload.status)))
  }))

const MessagesHandlers = HttpApiBuilder.group(DaemonApi, "messages", (handlers) =>
  Effect.gen(function*() {
    const router = yield* MessageRouter
    return handlers
      .handle("ask", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.ask(sender, payload)))
      .handle("ack", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.ack(sender, payload)))
      .handle("notify", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.notify(sender, payload)))
      .handle("broadcast", ({ payload }) =>
        Effect.flatMap(currentSender, (sender) => router.broadcast(sender, payload)))
  }))

const AsksHandlers = HttpApiBuilder.group(DaemonApi, "asks", (handlers) =>
  Effect.gen(function*() {
    const asks = yield* Asks
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const peer = urlParams.peer === undefined ? undefined : (yield* registry.resolve(urlParams.peer)).peer_id
          const list = yield* asks.list({
            peer,
            direction: urlParams.direction,
            open: urlParams.open,
            limit: urlParams.limit
          })
          return { asks: list }
        }))
      .handle("get", ({ path }) => asks.get(path.id))
      .handle("wait", ({ path, urlParams }) => router.waitForAck(path.id, (urlParams.timeout ?? 30) * 1000))
  }))

const DeliveriesHandlers = HttpApiBuilder.group(DaemonApi, "deliveries", (handlers) =>
  Effect.gen(function*() {
    const deliveries = yield* Deliveries
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    /** Only the peer itself reads or confirms its queue. */
    const own = (ref: string) =>
      Effect.gen(function*() {
        const peer = yield* registry.resolve(ref)
        const sender = yield* currentSender
        if (sender.peer_id !== peer.peer_id) {
          return yield* new Forbidden({ message: `only ${peer.display_name} can read or confirm its own deliveries` })
        }
        return peer
      })
    return handlers
      .handle("drain", ({ urlParams }) =>
        Effect.flatMap(own(urlParams.peer), (peer) =>
          Effect.map(
            urlParams.peek === true ? deliveries.pending(peer.peer_id) : deliveries.drain(peer.peer_id),
            (messages) => ({ messages })
          )))
      .handle("confirm", ({ payload }) =>
        Effect.gen(function*() {
          const peer = yield* own(payload.peer)
          const ids = [...new Set(payload.message_ids)]
          // The same receipt a live transport sends: the message (and its ask) delivered, one event.
          yield* Effect.forEach(ids, (id) => router.confirm(peer.peer_id, id, "received", "handed to the agent"), {
            discard: true
          })
          const now = yield* Effect.forEach(ids, (id) => deliveries.get(id))
          return {
            delivered: now.flatMap((m) => (m !== undefined && m.to_peer === peer.peer_id && (m.state === "delivered" || m.state === "acked") ? [m.id] : []))
          }
        }))
  }))

const EventsHandlers = HttpApiBuilder.group(DaemonApi, "events", (handlers) =>
  Effect.gen(function*() {
    const events = yield* EventLog
    const registry = yield* PeerRegistry
    return handlers
      .handle("report", ({ payload }) =>
        Effect.gen(function*() {
          const peer = yield* registry.resolve(payload.peer)
          const sender = yield* currentSender
          if (sender.peer_id !== peer.peer_id) {
            return yield* new Forbidden({ message: `a peer reports only its own turns, not ${peer.display_name}'s` })
          }
          if (payload.status !== undefined) yield* registry.setStatus(peer.peer_id, payload.status)
          const { report } = payload
          const event = yield* events.emit(
            report.kind === "chat"
              ? {
                type: "chat",
                circle: peer.circle,
                peer_id: peer.peer_id,
                display_name: peer.display_name,
                role: report.role,
                text: report.text
              }
              : {
                type: "tool_call",
                circle: peer.circle,
                peer_id: peer.peer_id,
                display_name: peer.display_name,
                tool: report.tool,
                summary: report.summary
              }
          )
          return { id: event.id }
        }))
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const peer = urlParams.peer === undefined ? undefined : (yield* registry.resolve(urlParams.peer)).peer_id
          const list = yield* events.list({
            since: urlParams.since,
            limit: urlParams.limit,
            peer,
            circle: urlParams.circle
          })
          return { events: list }
        }).pipe(Effect.catchTag("PeerNotFound", "AmbiguousPeer", "Forbidden", () => Effect.succeed({ events: [] }))))
  }))

export const DaemonHandlers = Layer.mergeAll(
  HealthHandlers,
  PeersHandlers,
  MessagesHandlers,
  AsksHandlers,
  DeliveriesHandlers,
  EventsHandlers
)
