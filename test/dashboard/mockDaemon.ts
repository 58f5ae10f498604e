import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, PubSub, Stream } from "effect"
import { createServer } from "node:http"
import { AttachmentsMemory } from "../../src/layers/AttachmentsMemory.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { AttachmentRoutes } from "../../src/programs/daemon/AttachmentRoutes.js"
import { loadDashboardAssets } from "../../src/programs/daemon/DashboardAssets.js"
import { makeDashboardRoutes } from "../../src/programs/daemon/DashboardRoutes.js"
import type { MeshEvent, NewMeshEvent } from "../../src/protocol/MeshEvent.js"
import type { Peer } from "../../src/protocol/Peer.js"

/**
 * A stand-in for the daemon's read side (health, peers, asks, events, SSE) around the real
 * dashboard and attachment routes: enough to render the page and measure it in a browser.
 */
export class MockMesh {
  readonly events: Array<MeshEvent> = []
  readonly peers = new Map<string, Peer>()
  readonly sent: Array<{ path: string; body: unknown }> = []
  constructor(readonly pubsub: PubSub.PubSub<MeshEvent>) {}

  emit(event: NewMeshEvent): MeshEvent {
    const full = { ...event, id: this.events.length + 1, at: new Date().toISOString() } as MeshEvent
    this.events.push(full)
    if (full.type === "peer_joined" || full.type === "peer_updated") this.peers.set(full.peer.peer_id, full.peer)
    Effect.runSync(PubSub.publish(this.pubsub, full))
    return full
  }
}

const sse = (event: MeshEvent) => new TextEncoder().encode(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`)

const routes = (mesh: MockMesh) => {
  const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })
  const stream = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://x")
    const since = Number(request.headers["last-event-id"] ?? url.searchParams.get("since") ?? 0)
    const live = yield* PubSub.subscribe(mesh.pubsub)
    const backlog = mesh.events.filter((e) => e.id > since)
    const last = backlog.length === 0 ? since : backlog[backlog.length - 1]!.id
    const body = Stream.concat(
      Stream.make(new TextEncoder().encode(": hello\n\n"), ...backlog.map(sse)),
      Stream.fromQueue(live).pipe(Stream.filter((e) => e.id > last), Stream.map(sse))
    )
    return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: { "cache-control": "no-store" } })
  })
  const send = (path: string) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.json
      mesh.sent.push({ path, body })
      return json(path === "/ask" ? { correlation_id: "ask-mock0001", delivery: "queued" } : { id: "msg-mock0001", delivery: "queued" })
    }).pipe(Effect.orDie)
  return Layer.mergeAll(
    HttpLayerRouter.add("GET", "/health", Effect.sync(() => json({
      ok: true,
      version: "0.1.0",
      uptime_s: 42,
      peers: { online: mesh.peers.size, busy: 0, offline: 0 },
      relay: { status: "disabled", url: null, last_error: null, last_connected_at: null }
    }))),
    HttpLayerRouter.add("GET", "/peers", Effect.sync(() => json({ peers: [...mesh.peers.values()] }))),
    HttpLayerRouter.add("GET", "/asks", Effect.sync(() => json({ asks: [] }))),
    HttpLayerRouter.add("GET", "/events", (request) =>
      Effect.sync(() => {
        const url = new URL(request.url, "http://x")
        const since = Number(url.searchParams.get("since") ?? 0)
        const limit = Number(url.searchParams.get("limit") ?? 1000)
        return json({ events: mesh.events.filter((e) => e.id > since).slice(0, limit) })
      })),
    HttpLayerRouter.add("GET", "/events/stream", stream),
    HttpLayerRouter.add("POST", "/ask", send("/ask")),
    HttpLayerRouter.add("POST", "/notify", send("/notify")),
    HttpLayerRouter.add("POST", "/broadcast", send("/broadcast"))
  )
}

export const mockDaemon = (home: string, dashboardDir: string, mesh: MockMesh) =>
  HttpLayerRouter.serve(
    Layer.mergeAll(routes(mesh), makeDashboardRoutes(loadDashboardAssets(dashboardDir)), AttachmentRoutes),
    { disableLogger: true, disableListenLog: true }
  ).pipe(
    Layer.provide(AttachmentsMemory),
    Layer.provideMerge(ConfigMemory(home, {})),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )

export const makeMesh = Effect.map(PubSub.unbounded<MeshEvent>(), (p) => new MockMesh(p))

export const fakePeer = (name: string, circle: string, status: Peer["status"] = "online"): Peer => ({
  peer_id: `peer-${name.replace(/[^a-z0-9]/g, "").padEnd(8, "0")}` as Peer["peer_id"],
  display_name: name,
  path: `/home/dev/src/${name}`,
  machine: "devbox",
  backend: "claude-code",
  circle,
  role: "agent",
  status,
  description: `working on ${name}`,
  last_seen: new Date().toISOString(),
  metadata: {}
})
