import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as tls from "node:tls"
import { ConfigMemory } from "../../../src/layers/ConfigLive.js"
import { TunnelClientLive } from "../../../src/layers/TunnelClientLive.js"
import type { RelayOptions } from "../../../src/programs/relay/RelayContext.js"
import {
  fakeApp,
  login,
  makeCert,
  mintKey,
  rawDaemon,
  request,
  startRelay,
  tempDir,
  waitConnected
} from "../../relay/harness.js"

/** The relay hardening tests' certificate: one per test file. */
export const cert = makeCert(tempDir("rw-cert-"))

/**
 * Another user's real daemon: what must keep working whatever a hostile tunnel does.
 * `stillServing` checks the relay still answers and tunnels the bystander's requests.
 */
export const bystander = (url: string) =>
  Effect.gen(function*() {
    const key = yield* mintKey("bystander")
    // Patient pings: floods run in this same process and may hold its event loop for a while.
    const ctx = yield* Layer.build(
      TunnelClientLive(fakeApp("B"), { ca: cert.cert, pingIntervalMs: 500, deadAfterMs: 15_000 }).pipe(
        Layer.provide(
          ConfigMemory(tempDir("rw-home-"), { relay: { enabled: true, url, api_key: key, daemon_id: "laptop" } })
        )
      )
    )
    yield* waitConnected().pipe(Effect.provide(ctx))
    const { cookie } = yield* login(url, cert.cert, key)
    return { stillServing: () => stillServing(url, cookie) }
  })

const stillServing = (url: string, cookie: string) =>
  Effect.gen(function*() {
    const health = yield* request(`${url}/_relay/health`, cert.cert)
    assert.strictEqual(health.status, 200)
    const peers = yield* request(`${url}/peers`, cert.cert, { headers: { cookie } })
    assert.strictEqual(peers.status, 200)
    assert.strictEqual(JSON.parse(peers.body).daemon, "B")
    return JSON.parse(health.body) as { tunnels: number; streams: number; queued_bytes: number }
  })

/**
 * A relay with a bystander's real daemon, and `user`'s raw tunnel (a daemon the test plays by
 * hand) with a signed-in browser session. `stillServing` checks the bystander is unharmed.
 */
export const hostileTunnel = (overrides: Partial<RelayOptions> = {}, user = "mallory") =>
  Effect.gen(function*() {
    const relay = yield* startRelay(cert, overrides)
    const { stillServing } = yield* bystander(relay.url)
    const key = yield* mintKey(user)
    const daemon = yield* rawDaemon(relay.url, key, cert.cert)
    const { cookie } = yield* login(relay.url, cert.cert, key)
    return { relay, key, daemon, cookie, stillServing }
  })

/** Bytes a keep-alive browser connection receives for one request, until the relay closes it or `ms` pass. */
export const keepAliveExchange = (url: string, cookie: string, path: string, ms: number) =>
  Effect.async<{ text: string; closed: boolean }>((resume) => {
    const { hostname, port } = new URL(url)
    const socket = tls.connect({ host: hostname, port: Number(port), ca: cert.cert, servername: "localhost" }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncookie: ${cookie}\r\nconnection: keep-alive\r\n\r\n`
      )
    })
    const chunks: Array<Buffer> = []
    const timer = setTimeout(() => {
      socket.destroy()
      resume(Effect.succeed({ text: Buffer.concat(chunks).toString("latin1"), closed: false }))
    }, ms)
    socket.on("data", (c) => chunks.push(c))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ text: Buffer.concat(chunks).toString("latin1"), closed: true }))
    })
  })
