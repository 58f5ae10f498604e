import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import WebSocket from "ws"
import { MESH_PATH } from "../../src/protocol/MeshRelayWire.js"
import { DAEMON_ID_HEADER } from "../../src/protocol/RelayApi.js"
import { TunnelClose } from "../../src/protocol/TunnelClose.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))

/** A daemon's `/mesh` socket, open; `closed` settles with the code the relay closed it with. */
const meshSocket = (relayUrl: string, key: string, daemonId: string) =>
  Effect.promise(() =>
    new Promise<{ closed: Promise<number>; ws: WebSocket }>((resolve, reject) => {
      const ws = new WebSocket(`${relayUrl.replace(/^http/, "ws")}${MESH_PATH}`, {
        ca: cert.cert,
        headers: { authorization: `Bearer ${key}`, [DAEMON_ID_HEADER]: daemonId }
      })
      const closed = new Promise<number>((done) => ws.on("close", (code) => done(code)))
      ws.on("open", () => resolve({ closed, ws }))
      ws.on("error", reject)
    })
  )

const within = <A>(ms: number, promise: Promise<A>) =>
  Promise.race([promise, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))])

describe("a revoked key closes the daemon's /mesh socket, as it does its tunnel", () => {
  it.live("rotated through the relay's API: at once", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert, { tls: undefined })
      const key = yield* mintKey("ivy")
      const other = yield* mintKey("ivy")
      const socket = yield* meshSocket(relay.url, key, "laptop")
      const untouched = yield* meshSocket(relay.url, other, "server")
      const rotated = yield* Effect.promise(() =>
        fetch(`${relay.url}/api/rotate`, { method: "POST", headers: { authorization: `Bearer ${key}` } })
      )
      assert.strictEqual(rotated.status, 200, yield* Effect.promise(() => rotated.text()))
      assert.strictEqual(yield* Effect.promise(() => within(2_000, socket.closed)), TunnelClose.revoked)
      assert.strictEqual(untouched.ws.readyState, WebSocket.OPEN, "another key's socket stays")
      untouched.ws.terminate()
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("revoked by another process (relay keys revoke), with no tunnel open: within seconds", () =>
    Effect.gen(function*() {
      const db = path.join(tempDir("rw-relay-db-"), "relay.db")
      const services = yield* Layer.build(RelayServicesLayer(db))
      const relay = yield* startRelay(cert).pipe(Effect.provide(services))
      const key = yield* mintKey("jay").pipe(Effect.provide(services))
      const socket = yield* meshSocket(relay.url, key, "laptop")
      const revoked = yield* Effect.flatMap(ApiKeys, (k) => k.revoke("jay")).pipe(
        Effect.provide(RelayServicesLayer(db))
      )
      assert.strictEqual(revoked.length, 1)
      assert.strictEqual(yield* Effect.promise(() => within(5_000, socket.closed)), TunnelClose.revoked)
    }).pipe(Effect.scoped))
})
