import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { IncomingMessage } from "node:http"
import * as https from "node:https"
import { Readable } from "node:stream"
import {
  fakeApp,
  login,
  makeCert,
  mintKey,
  RelayServicesLayer,
  startRelay,
  tempDir,
  tunnelClient,
  waitConnected
} from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))
const MiB = 1024 * 1024

const setup = Effect.gen(function*() {
  const relay = yield* startRelay(cert)
  const key = yield* mintKey("alice")
  const daemon = yield* Layer.build(
    tunnelClient(fakeApp("A"), { url: relay.url, key, daemonId: "laptop", ca: cert.cert })
  )
  yield* waitConnected().pipe(Effect.provide(daemon))
  const { cookie } = yield* login(relay.url, cert.cert, key)
  return { base: relay.url, cookie }
})

/** Downloads and counts bytes, sampling this process's RSS on the way. */
const download = (url: string, cookie: string, onChunk?: () => void) =>
  Effect.async<{ bytes: number; status: number }, Error>((resume) => {
    let bytes = 0
    const req = https.get(url, { headers: { cookie }, ca: cert.cert, agent: false }, (res) => {
      res.on("data", (c: Buffer) => {
        bytes += c.length
        onChunk?.()
      })
      res.on("end", () => resume(Effect.succeed({ bytes, status: res.statusCode ?? 0 })))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => req.destroy())
  })

const rssSampler = () => {
  const base = process.memoryUsage().rss
  let peak = base
  return { sample: () => (peak = Math.max(peak, process.memoryUsage().rss)), growth: () => peak - base }
}

describe("tunnel streaming", () => {
  it.live("a 100 MiB download (twice over) streams through with bounded memory", () =>
    Effect.gen(function*() {
      const { base, cookie } = yield* setup
      global.gc?.()
      const rss = rssSampler()
      let n = 0
      // Two 100 MiB downloads back to back: any whole-body buffering would hold 100 MiB at least
      // once per layer, and the second download shows the first one's memory came back.
      for (let i = 0; i < 2; i++) {
        const result = yield* download(`${base}/attachments/${100 * MiB}`, cookie, () => ++n % 64 === 0 && rss.sample())
        assert.strictEqual(result.status, 200)
        assert.strictEqual(result.bytes, 100 * MiB)
      }
      // Relay, daemon and client share this process (TLS buffers, GC slack), hence the margin.
      assert.isBelow(rss.growth(), 128 * MiB, `rss grew by ${Math.round(rss.growth() / MiB)} MiB`)
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 90_000)

  it.live("a 50 MiB upload streams through with bounded memory", () =>
    Effect.gen(function*() {
      const { base, cookie } = yield* setup
      const rss = rssSampler()
      const total = 50 * MiB
      const reply = yield* Effect.async<{ status: number; body: string }, Error>((resume) => {
        let sent = 0
        const source = new Readable({
          read() {
            rss.sample()
            if (sent >= total) return this.push(null)
            const n = Math.min(64 * 1024, total - sent)
            sent += n
            this.push(Buffer.alloc(n, 98))
          }
        })
        const req = https.request(`${base}/attachments`, {
          method: "POST",
          headers: { cookie, origin: base, "content-type": "application/octet-stream" },
          ca: cert.cert,
          agent: false
        }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () =>
            resume(Effect.succeed({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() })))
        })
        req.on("error", (e) =>
          resume(Effect.fail(e)))
        source.pipe(req)
      })
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(JSON.parse(reply.body), { bytes: total })
      assert.isBelow(rss.growth(), 96 * MiB, `rss grew by ${Math.round(rss.growth() / MiB)} MiB`)
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 60_000)

  it.live(
    "64 concurrent streams finish while one is stalled by a reader that stopped reading",
    () =>
      Effect.gen(function*() {
        const { base, cookie } = yield* setup
        // The stalled one: a 1 GiB download whose reader never reads after the first chunk. Were it
        // buffered anywhere, memory would head for a gigabyte; under credit it stays a few windows.
        const stalled = yield* Effect.async<IncomingMessage, Error>((resume) => {
          const req = https.get(`${base}/attachments/${1024 * MiB}`, {
            headers: { cookie },
            ca: cert.cert,
            agent: false
          }, (res) => {
            res.once("data", () => {
              res.pause()
              resume(Effect.succeed(res))
            })
          })
          req.on("error", (e) => resume(Effect.fail(e)))
        })
        const rss = rssSampler()
        const results = yield* Effect.forEach(
          Array.from({ length: 63 }, (_, i) => i),
          () => download(`${base}/attachments/${2 * MiB}`, cookie, rss.sample),
          { concurrency: "unbounded" }
        ).pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(results.length, 63)
        results.forEach((r) => assert.strictEqual(r.bytes, 2 * MiB))
        yield* Effect.sleep("300 millis")
        rss.sample()
        // 64 streams x 1 MiB window + 32 MiB of grown windows at most at the relay, plus TLS and GC slack.
        assert.isBelow(rss.growth(), 192 * MiB, `rss grew by ${Math.round(rss.growth() / MiB)} MiB`)
        stalled.destroy()
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )
})
