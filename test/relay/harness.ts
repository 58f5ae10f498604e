import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Chunk, Effect, Either, Layer, Option, Redacted, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import WebSocket from "ws"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { TunnelClientLive } from "../../src/layers/TunnelClientLive.js"
import type { TunnelApp } from "../../src/layers/TunnelClientLive.js"
import { defaultRelayOptions, type RelayOptions } from "../../src/programs/relay/RelayContext.js"
import { makeRelayServer } from "../../src/programs/relay/RelayServer.js"
import { decodeFrame, type TunnelFrame } from "../../src/protocol/TunnelFrame.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { Tunnelled } from "../../src/services/RequestContext.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** A self-signed certificate for 127.0.0.1 / localhost, made with openssl. */
export const makeCert = (dir: string) => {
  const key = path.join(dir, "key.pem")
  const cert = path.join(dir, "cert.pem")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost"
  ], { stdio: "ignore" })
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), keyFile: key, certFile: cert }
}

export { RelayServicesLayer } from "../support/Layers.js"

/** A relay on 127.0.0.1, port 0 unless given, with TLS from `cert`. */
export const startRelay = (cert: { key: Buffer; cert: Buffer }, overrides: Partial<RelayOptions> = {}) =>
  makeRelayServer({
    ...defaultRelayOptions,
    host: "127.0.0.1",
    port: 0,
    tls: { cert: cert.cert, key: cert.key },
    drainMs: 0,
    ...overrides
  })

export const mintKey = (userId: string) =>
  Effect.flatMap(ApiKeys, (k) => k.create(userId)).pipe(Effect.map((m) => Redacted.value(m.key)))

const big = (size: number) =>
  Stream.unfoldChunk(0, (sent) => {
    if (sent >= size) return Option.none()
    const n = Math.min(64 * 1024, size - sent)
    return Option.some([Chunk.of(new Uint8Array(n).fill(97)), sent + n])
  })

/** A stand-in for the daemon's app: enough routes to exercise every tunnel feature. */
export const fakeApp = (label: string): TunnelApp<never, never> =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/health",
      Effect.gen(function*() {
        return yield* HttpServerResponse.json({ daemon: label, tunnelled: yield* Tunnelled })
      })
    ),
    HttpRouter.get(
      "/peers",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        return yield* HttpServerResponse.json({ daemon: label, tunnelled: yield* Tunnelled, headers: req.headers })
      })
    ),
    HttpRouter.get(
      "/events/stream",
      Effect.succeed(HttpServerResponse.stream(
        Stream.make(new TextEncoder().encode(`id: 1\ndata: {"daemon":"${label}"}\n\n`)).pipe(
          Stream.concat(Stream.never)
        ),
        { contentType: "text/event-stream" }
      ))
    ),
    HttpRouter.get(
      "/attachments/:size",
      Effect.gen(function*() {
        const params = yield* HttpRouter.params
        return HttpServerResponse.stream(big(Number(params.size)), { contentType: "application/octet-stream" })
      })
    ),
    HttpRouter.post(
      "/attachments",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        let bytes = 0
        yield* Stream.runForEach(req.stream, (c) => Effect.sync(() => (bytes += c.length)))
        return yield* HttpServerResponse.json({ bytes })
      })
    ),
    HttpRouter.get("/asks/hang", Effect.never),
    HttpRouter.get("/asks/slow", Effect.sleep("300 millis").pipe(Effect.as(HttpServerResponse.text("slow")))),
    HttpRouter.get(
      "/events/ws",
      Effect.gen(function*() {
        const socket = yield* HttpServerRequest.upgrade
        const write = yield* socket.writer
        yield* socket.runRaw((data) => write(typeof data === "string" ? `echo:${data}` : data), {
          onOpen: write(JSON.stringify({ daemon: label, hello: true })).pipe(Effect.orDie)
        })
        return HttpServerResponse.empty()
      }).pipe(Effect.scoped, Effect.orDie)
    ),
    HttpRouter.catchAll(() => HttpServerResponse.json({ error: "not found" }, { status: 404 })),
    Effect.orDie
  )

/** A daemon-side TunnelClient for `app`, configured to dial the relay with `key`. */
export const tunnelClient = <E, R>(
  app: TunnelApp<E, R>,
  opts: { url: string; key: string; daemonId: string; ca: Buffer; home?: string }
) => {
  const home = opts.home ?? tempDir("rw-daemon-")
  return TunnelClientLive(app, { ca: opts.ca, pingIntervalMs: 500, deadAfterMs: 1500, backoffMaxMs: 1000 }).pipe(
    Layer.provide(ConfigMemory(home, {
      relay: { enabled: true, url: opts.url, api_key: opts.key, daemon_id: opts.daemonId }
    }))
  )
}

export const waitConnected = (timeoutMs = 5000) =>
  Effect.gen(function*() {
    const client = yield* TunnelClient
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const status = yield* client.status
      if (status.status === "connected") return status
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`not connected: ${JSON.stringify(yield* client.status)}`)
  })

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** A browser-like HTTPS request that trusts the test certificate. */
export const request = (
  url: string,
  ca: Buffer,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}
) =>
  Effect.async<Reply, Error>((resume) => {
    const req = https.request(
      url,
      { method: init.method ?? "GET", headers: init.headers ?? {}, ca, agent: false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resume(
            Effect.succeed({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString()
            })
          ))
        res.on("error", (e) => resume(Effect.fail(e)))
      }
    )
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(init.body)
  })

/** Logs in with a key through the form; returns the cookie header value for later requests. */
export const login = (base: string, ca: Buffer, key: string) =>
  Effect.gen(function*() {
    const reply = yield* request(`${base}/auth`, ca, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
      body: `key=${encodeURIComponent(key)}`
    })
    const setCookie = reply.headers["set-cookie"]
    const cookie = Array.isArray(setCookie) ? setCookie[0] : setCookie
    return { reply, cookie: cookie?.split(";")[0] ?? "", setCookie: cookie ?? "" }
  })

export interface RawDaemon {
  readonly ws: WebSocket
  /** Frames not yet taken by `next`. */
  readonly frames: Array<TunnelFrame>
  readonly next: () => Promise<TunnelFrame>
  /** The first frame of this kind, skipping others. */
  readonly nextOf: <T extends TunnelFrame["_tag"]>(tag: T) => Promise<Extract<TunnelFrame, { _tag: T }>>
  /** Resolves with the close code and reason once the relay closes the tunnel. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
}

/** A hand-driven daemon on `/tunnel`, to send the relay frames a real daemon never would. */
export const rawDaemon = (url: string, key: string, ca: Buffer, daemonId = "raw") =>
  Effect.acquireRelease(
    Effect.async<RawDaemon, Error>((resume) => {
      const frames: Array<TunnelFrame> = []
      let waiter: ((f: TunnelFrame) => void) | undefined
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/tunnel`, {
        headers: { authorization: `Bearer ${key}`, "x-repowire-daemon-id": daemonId },
        ca
      })
      const closed = new Promise<{ code: number; reason: string }>((r) =>
        ws.on("close", (code, reason) => r({ code, reason: reason.toString("utf8") }))
      )
      ws.on("message", (d: Buffer) => {
        const f = decodeFrame(d)
        if (Either.isLeft(f)) return
        if (waiter) {
          const w = waiter
          waiter = undefined
          w(f.right)
        } else frames.push(f.right)
      })
      const next = () => {
        const f = frames.shift()
        return f ? Promise.resolve(f) : new Promise<TunnelFrame>((r) => (waiter = r))
      }
      const nextOf = async <T extends TunnelFrame["_tag"]>(tag: T) => {
        for (;;) {
          const f = await next()
          if (f._tag === tag) return f as Extract<TunnelFrame, { _tag: T }>
        }
      }
      ws.on("open", () => resume(Effect.succeed({ ws, frames, next, nextOf, closed })))
      ws.on("unexpected-response", (_req, res) => resume(Effect.fail(new Error(`tunnel refused: ${res.statusCode}`))))
      ws.on("error", (e) => resume(Effect.fail(e)))
    }),
    ({ ws }) => Effect.sync(() => ws.terminate())
  )
