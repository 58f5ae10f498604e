import { HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { makeDaemonApp } from "../src/programs/daemon/App.js"
import { MessageRouter } from "../src/services/MessageRouter.js"
import { PeerRegistry } from "../src/services/PeerRegistry.js"
import { Transports } from "../src/services/Transports.js"
import { daemonServicesLayer } from "../test/support/Layers.js"
import { median, ms, ratio, report, sleep } from "./support/Stats.js"

/**
 * The daemon's own work per request, in-process: its HTTP app is called with a request object,
 * no socket, no other process. Each request is timed back to back (caches warm) and at the
 * daemon bench's pace, 20 ms apart (caches cold, as a daemon serving agents always is). The
 * baseline is GET /health through the same app: the request machinery without the mesh work.
 */
const ROUNDS = 400
const PACE_MS = 20

export const run = async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), "repowire-bench-app-"))
  const layer = daemonServicesLayer(home).pipe(Layer.provideMerge(NodeHttpServer.layerContext))
  const program = Effect.gen(function*() {
    const app = yield* makeDaemonApp({ port: () => 8377 })
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    const asker = yield* registry.register({ name: "asker", backend: "codex", circle: "bench" }, undefined)
    const target = yield* registry.register({ name: "target", backend: "codex", circle: "bench" }, undefined)
    const delivered: Array<string> = []
    yield* (yield* Transports).attach(target.peer_id, {
      id: 1,
      send: (frame) => {
        if ("message_id" in frame) delivered.push(frame.message_id)
        return true
      },
      close: () => Effect.void
    })
    const request = (method: string, route: string, body?: unknown) =>
      HttpServerRequest.fromWeb(
        new Request(`http://127.0.0.1:8377${route}`, {
          method,
          headers: { host: "127.0.0.1:8377", "content-type": "application/json", "x-repowire-peer-token": asker.token },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
      )
    const serve = (made: HttpServerRequest.HttpServerRequest) =>
      Effect.scoped(Effect.provideService(app, HttpServerRequest.HttpServerRequest, made))
    const ask = (i: number) =>
      request("POST", "/ask", { from_peer: asker.peer_id, to_peer: target.peer_id, text: `q${i}` })
    const health = () => request("GET", "/health")

    /** Times `rounds` requests; the target's receipts are sent after each, outside the timing. */
    const timed = (make: (i: number) => HttpServerRequest.HttpServerRequest, paceMs: number) =>
      Effect.gen(function*() {
        const samples: Array<number> = []
        for (let i = 0; i < ROUNDS; i++) {
          if (paceMs > 0) yield* Effect.promise(() => sleep(paceMs))
          const made = make(i)
          const started = performance.now()
          const response = yield* serve(made)
          samples.push(performance.now() - started)
          if (response.status !== 200) throw new Error(`status ${response.status}`)
          for (const id of delivered.splice(0)) yield* router.confirm(target.peer_id, id, "received", undefined)
        }
        return median(samples)
      })

    yield* timed(ask, 0) // warm-up: the JIT's first pass is not the daemon's steady cost
    yield* timed(health, 0)
    return {
      askHot: yield* timed(ask, 0),
      healthHot: yield* timed(health, 0),
      askPaced: yield* timed(ask, PACE_MS),
      healthPaced: yield* timed(health, PACE_MS)
    }
  })
  try {
    const r = await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)))
    report(`the daemon's app per request, in-process (median of ${ROUNDS})`, [
      ["GET /health, back to back / 20 ms apart", `${ms(r.healthHot)} / ${ms(r.healthPaced)}`],
      ["POST /ask, back to back / 20 ms apart", `${ms(r.askHot)} / ${ms(r.askPaced)}`],
      ["ask vs health, 20 ms apart", ratio(r.askPaced, r.healthPaced)],
      ["ask 20 ms apart vs back to back", ratio(r.askPaced, r.askHot)]
    ])
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
