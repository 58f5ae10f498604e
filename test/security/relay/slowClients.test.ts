import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import { ApiKeys } from "../../../src/services/ApiKeys.js"
import { RelayServicesLayer, startRelay } from "../../relay/harness.js"
import { cert } from "./hostileRelay.js"

/** A raw TCP client from 127.0.0.2 (Linux answers all of 127/8), so 127.0.0.1 stays a separate client. */
const rawClient = (port: number) =>
  Effect.async<{ socket: net.Socket; received: () => string; closedAt: Promise<number> }>((resume) => {
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" })
    const closedAt = new Promise<number>((r) => socket.on("close", () => r(Date.now())))
    socket.on("data", (c) => chunks.push(c))
    socket.on("error", () => undefined)
    socket.on(
      "connect",
      () => resume(Effect.succeed({ socket, received: () => Buffer.concat(chunks).toString(), closedAt }))
    )
  })

const within = (p: Promise<number>, ms: number) =>
  Effect.promise(() => Promise.race([p, new Promise<number>((r) => setTimeout(() => r(-1), ms))]))

const plainHealth = (port: number) =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      http.get(`http://127.0.0.1:${port}/_relay/health`, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }).on("error", () => resolve(-1))
    })
  )

describe("relay hardening: slow and crowding clients before login", () => {
  const fast = { tls: undefined, headersTimeoutMs: 800, bodyTimeoutMs: 800 }

  it.live(
    "a head trickled a line at a time, or nothing at all, is cut at the headers timeout",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, fast)
        const silent = yield* rawClient(relay.port)
        const trickle = yield* rawClient(relay.port)
        const start = Date.now()
        trickle.socket.write("POST /auth HTTP/1.1\r\nhost: relay\r\n")
        const drip = setInterval(
          () => trickle.socket.writable && trickle.socket.write(`x-drip-${Date.now()}: 1\r\n`),
          150
        )
        const trickleClosed = yield* within(trickle.closedAt, 5000)
        const silentClosed = yield* within(silent.closedAt, 5000)
        clearInterval(drip)
        assert.isAbove(trickleClosed, 0, "the trickled head was never cut")
        assert.isAbove(silentClosed, 0, "the silent connection was never cut")
        assert.isBelow(trickleClosed - start, 3000)
        assert.isBelow(silentClosed - start, 3000)
        assert.strictEqual(yield* plainHealth(relay.port), 200)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "a body trickled to /auth or /api/register is answered 408 and closed at the body timeout",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, fast)
        for (const path of ["/auth", "/api/register", "/api/rotate"]) {
          const client = yield* rawClient(relay.port)
          const start = Date.now()
          client.socket.write(
            `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${relay.port}\r\norigin: http://127.0.0.1:${relay.port}\r\n` +
              "content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\nk"
          )
          const drip = setInterval(() => client.socket.writable && client.socket.write("e"), 150)
          const closed = yield* within(client.closedAt, 5000)
          clearInterval(drip)
          assert.isAbove(closed, 0, `${path}: the trickled body was never cut`)
          assert.isBelow(closed - start, 3000, path)
          if (path !== "/api/rotate") assert.match(client.received(), /^HTTP\/1\.1 408 /, path)
        }
        assert.strictEqual(yield* plainHealth(relay.port), 200)
        const users = yield* Effect.flatMap(ApiKeys, (k) => k.list)
        assert.strictEqual(users.length, 0)
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )

  it.live(
    "one address holds at most 32 unauthenticated connections; the rest are refused and others are served",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { tls: undefined })
        const clients = []
        for (let i = 0; i < 40; i++) clients.push(yield* rawClient(relay.port))
        yield* Effect.sleep("300 millis")
        const open = clients.filter((c) => !c.socket.destroyed && c.socket.readyState === "open")
        assert.strictEqual(open.length, 32)
        assert.isTrue(clients.slice(32).every((c) => c.received().startsWith("HTTP/1.1 429 ")))
        // Another address is not affected; freeing places lets this one in again.
        assert.strictEqual(yield* plainHealth(relay.port), 200)
        open.slice(0, 4).forEach((c) => c.socket.destroy())
        yield* Effect.sleep("100 millis")
        const again = yield* rawClient(relay.port)
        again.socket.write(`GET /_relay/health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n`)
        yield* within(again.closedAt, 3000)
        assert.match(again.received(), /^HTTP\/1\.1 200 /)
        clients.forEach((c) => c.socket.destroy())
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})
