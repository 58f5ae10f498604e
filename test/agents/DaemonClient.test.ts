import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { DaemonClientLive } from "../../src/layers/DaemonClientLive.js"
import { DaemonClient } from "../../src/services/DaemonClient.js"
import { tempDir } from "./Harness.js"

/** A stand-in daemon that records what each request carried. */
const recorder = Effect.acquireRelease(
  Effect.async<{ port: number; seen: Array<http.IncomingHttpHeaders>; server: http.Server }>((resume) => {
    const seen: Array<http.IncomingHttpHeaders> = []
    const server = http.createServer((req, res) => {
      seen.push(req.headers)
      if (req.method === "POST" && req.url === "/peers") {
        if (req.headers["x-repowire-human-credential"] === "hang") return
        res.writeHead(201, { "content-type": "application/json" })
        res.end(JSON.stringify(
          req.headers["x-repowire-human-credential"] === "bad"
            ? { peer_id: "not-a-peer-id", display_name: "ops", circle: "default", token: "t" }
            : { peer_id: "peer-0123456789", display_name: "ops", circle: "default", token: "peer-token" }
        ))
        return
      }
      if (req.url?.startsWith("/peers/nobody")) {
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { code: "peer_not_found", message: "no peer named `nobody`" } }))
        return
      }
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ peers: [] }))
    })
    server.listen(
      0,
      "127.0.0.1",
      () => resume(Effect.succeed({ port: (server.address() as AddressInfo).port, seen, server }))
    )
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

const clientFor = (port: number, authToken: string | null) =>
  DaemonClientLive.pipe(Layer.provide(ConfigMemory(tempDir("rw-client-"), { daemon: { port, auth_token: authToken } })))

describe("DaemonClient", () => {
  it.scopedLive("sends the daemon's auth token and the calling peer's token", () =>
    Effect.gen(function*() {
      const { port, seen } = yield* recorder
      const token = "client-test-auth-token-0123456789"
      yield* Effect.flatMap(DaemonClient, (c) =>
        Effect.all([
          c.call((api) => api.peers.list({ urlParams: {} })),
          c.call((api) => api.peers.list({ urlParams: {} }), { peerToken: "peer-secret" })
        ])).pipe(Effect.provide(clientFor(port, token)))
      assert.strictEqual(seen[0]!.authorization, `Bearer ${token}`)
      assert.strictEqual(seen[0]!["x-repowire-peer-token"], undefined)
      assert.strictEqual(seen[1]!["x-repowire-peer-token"], "peer-secret")
      yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.peers.list({ urlParams: {} }))).pipe(
        Effect.provide(clientFor(port, null))
      )
      assert.strictEqual(seen[2]!.authorization, undefined)
    }))

  it.scopedLive("keeps the contract's typed errors", () =>
    Effect.gen(function*() {
      const { port } = yield* recorder
      const error = yield* Effect.flatMap(DaemonClient, (c) =>
        c.call((api) => api.peers.get({ path: { ref: "nobody" } }))).pipe(
          Effect.provide(clientFor(port, null)),
          Effect.flip
        )
      assert.strictEqual(error._tag, "PeerNotFound")
      assert.strictEqual(error.message, "no peer named `nobody`")
    }))

  it.live("maps a daemon that is not there to DaemonUnreachable, naming the URL and the fix", () =>
    Effect.gen(function*() {
      const port = yield* recorder.pipe(Effect.map(({ port }) => port), Effect.scoped)
      const error = yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.health.health())).pipe(
        Effect.provide(clientFor(port, null)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "DaemonUnreachable")
      assert.strictEqual(
        error.message,
        `daemon not reachable at http://127.0.0.1:${port} (connection refused); start it with \`repowire daemon start\``
      )
    }))

  it.scopedLive("registers with the human credential and the resumed peer's token, decoding Registered", () =>
    Effect.gen(function*() {
      const { port, seen } = yield* recorder
      const client = clientFor(port, null)
      const registered = yield* Effect.flatMap(
        DaemonClient,
        (c) =>
          c.register({ name: "ops", backend: "cli", role: "human" }, {
            humanCredential: "human-secret",
            peerToken: "peer-secret"
          })
      ).pipe(Effect.provide(client))
      assert.deepStrictEqual(
        registered,
        {
          peer_id: "peer-0123456789",
          display_name: "ops",
          circle: "default",
          token: "peer-token"
        } as typeof registered
      )
      assert.strictEqual(seen[0]!["x-repowire-human-credential"], "human-secret")
      assert.strictEqual(seen[0]!["x-repowire-peer-token"], "peer-secret")
      // The stand-in answers a credential of "bad" outside the contract, and never one of "hang".
      const refusal = (humanCredential: string) =>
        Effect.flatMap(DaemonClient, (c) => c.register({ name: "ops", backend: "cli" }, { humanCredential })).pipe(
          Effect.provide(client),
          Effect.flip
        )
      const error = yield* refusal("bad")
      assert.strictEqual(error._tag, "DaemonFailure", "an answer outside the contract is not a registration")
      assert.strictEqual(seen[1]!["x-repowire-peer-token"], undefined)
      const hung = yield* refusal("hang")
      assert.strictEqual(hung._tag, "DaemonUnreachable", "a daemon that does not answer is not there")
      assert.include(hung.message, "(no answer within 1500ms)")
    }))
})
