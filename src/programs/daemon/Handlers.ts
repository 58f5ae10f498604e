import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { machineNameOf } from "../../layers/mesh/MachineName.js"
import { DaemonApi } from "../../protocol/DaemonApi.js"
import { Forbidden } from "../../protocol/Errors.js"
import { PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { Asks } from "../../services/Asks.js"
import { Config } from "../../services/Config.js"
import { Deliveries } from "../../services/Deliveries.js"
import { EventLog } from "../../services/EventLog.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Policy } from "../../services/Policy.js"
import { Roles } from "../../services/Roles.js"
import { Schedules } from "../../services/Schedules.js"
import { Spawner } from "../../services/Spawner.js"
import { TunnelClient } from "../../services/TunnelClient.js"
import { VERSION } from "../../Version.js"
import { authorizeFor, authorizeRegistration, currentSender } from "./Caller.js"
import { MeshHandlers } from "./MeshHandlers.js"
import { readAsk, readFilter, readOne, spawnGate } from "./PolicyChecks.js"
import { PolicyHandlers } from "./PolicyHandlers.js"
import { SealedHandlers } from "./SealedHandlers.js"

const startedAt = Date.now()

const HealthHandlers = HttpApiBuilder.group(DaemonApi, "health", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const tunnel = yield* TunnelClient
    const policy = yield* Policy
    const machine = machineNameOf((yield* Config).values)
    return handlers.handle("health", () =>
      Effect.all({ peers: registry.counts, relay: tunnel.status }).pipe(
        Effect.map(({ peers, relay }) => ({
          ok: true,
          version: VERSION,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          machine,
          peers,
          relay,
          policy: policy.health()
        }))
      ))
  }))

const PeersHandlers = HttpApiBuilder.group(DaemonApi, "peers", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const roles = yield* Roles
    const changeable = (ref: string) => Effect.tap(registry.resolve(ref), authorizeFor)
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const peers = yield* registry.list({ circle: urlParams.circle, status: urlParams.status, all: urlParams.all })
          const visible = yield* readFilter
          return { peers: visible === undefined ? peers : peers.filter(visible.peer) }
        }))
      .handle("get", ({ path }) => Effect.flatMap(registry.resolve(path.ref), readOne))
      .handle("register", ({ payload }) =>
        Effect.zipRight(
          authorizeRegistration(payload),
          Effect.flatMap(
            HttpServerRequest.HttpServerRequest,
            (request) => registry.register(payload, request.headers[PEER_TOKEN_HEADER])
          )
        ).pipe(Effect.withSpan("PeersHandlers.register")))
      .handle("remove", ({ path }) =>
        changeable(path.ref).pipe(
          Effect.flatMap((peer) => registry.remove(peer.peer_id)),
          Effect.map((peer) => ({ removed: peer.peer_id })),
          Effect.withSpan("PeersHandlers.remove")
        ))
      .handle(
        "setDescription",
        ({ path, payload }) =>
          Effect.flatMap(changeable(path.ref), (peer) => registry.setDescription(peer.peer_id, payload.description))
            .pipe(Effect.withSpan("PeersHandlers.setDescription"))
      )
      .handle(
        "setCircle",
        ({ path, payload }) =>
          Effect.flatMap(changeable(path.ref), (peer) => registry.setCircle(peer.peer_id, payload.circle))
            .pipe(Effect.withSpan("PeersHandlers.setCircle"))
      )
      .handle(
        "setStatus",
        ({ path, payload }) =>
          Effect.flatMap(changeable(path.ref), (peer) => registry.setStatus(peer.peer_id, payload.status))
      )
      .handle(
        "claimRole",
        ({ path, payload }) =>
          Effect.flatMap(changeable(path.ref), (peer) => roles.claim(peer, payload))
            .pipe(Effect.withSpan("PeersHandlers.claimRole"))
      )
  }))

const MessagesHandlers = HttpApiBuilder.group(DaemonApi, "messages", (handlers) =>
  Effect.gen(function*() {
    const router = yield* MessageRouter
    return handlers
      .handle("ask", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.ask(sender, payload)))
      .handle("ack", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.ack(sender, payload)))
      .handle("notify", ({ payload }) => Effect.flatMap(currentSender, (sender) => router.notify(sender, payload)))
      .handle(
        "broadcast",
        ({ payload }) => Effect.flatMap(currentSender, (sender) => router.broadcast(sender, payload))
      )
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
          const visible = yield* readFilter
          return { asks: visible === undefined ? list : list.filter(visible.ask) }
        }))
      .handle("get", ({ path }) => Effect.flatMap(asks.get(path.id), readAsk))
      .handle("wait", ({ path, urlParams }) =>
        Effect.flatMap(Effect.flatMap(asks.get(path.id), readAsk), () =>
          router.waitForAck(path.id, (urlParams.timeout ?? 30) * 1000)))
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
            delivered: now.flatMap((
              m
            ) => (m !== undefined && m.to_peer === peer.peer_id && (m.state === "delivered" || m.state === "acked")
              ? [m.id]
              : [])
            )
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
          if (payload.turn_state !== undefined) yield* registry.setTurn(peer.peer_id, payload.turn_state)
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
          const visible = yield* readFilter
          return { events: visible === undefined ? list : list.filter(visible.event) }
        }).pipe(Effect.catchTag("PeerNotFound", "AmbiguousPeer", "Forbidden", () => Effect.succeed({ events: [] }))))
  }))

const SchedulesHandlers = HttpApiBuilder.group(DaemonApi, "schedules", (handlers) =>
  Effect.gen(function*() {
    const schedules = yield* Schedules
    const registry = yield* PeerRegistry
    return handlers
      .handle("create", ({ payload }) =>
        Effect.flatMap(currentSender, (sender) => schedules.create(sender, payload))
          .pipe(Effect.withSpan("SchedulesHandlers.create")))
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const owner = urlParams.peer === undefined ? undefined : (yield* registry.resolve(urlParams.peer)).peer_id
          return { schedules: yield* schedules.list({ owner }) }
        }))
      .handle("remove", ({ path }) =>
        Effect.flatMap(currentSender, (sender) => schedules.remove(sender, path.id))
          .pipe(Effect.withSpan("SchedulesHandlers.remove")))
  }))

/** Who may start or stop an agent on this machine: the access rules' `spawn` action decides. */
const spawnCaller = Effect.flatMap(currentSender, spawnGate)

const SpawnHandlers = HttpApiBuilder.group(DaemonApi, "spawn", (handlers) =>
  Effect.gen(function*() {
    const spawner = yield* Spawner
    return handlers
      .handle("spawn", ({ payload }) => Effect.flatMap(spawnCaller, (sender) => spawner.spawn(sender, payload)))
      .handle("kill", ({ path }) => Effect.flatMap(spawnCaller, (sender) => spawner.kill(sender, path.ref)))
  }))

export const DaemonHandlers = Layer.mergeAll(
  HealthHandlers,
  PeersHandlers,
  MessagesHandlers,
  AsksHandlers,
  DeliveriesHandlers,
  EventsHandlers,
  SchedulesHandlers,
  SpawnHandlers,
  PolicyHandlers,
  MeshHandlers,
  SealedHandlers
)
