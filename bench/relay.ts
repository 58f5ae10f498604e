/**
 * Relay benchmarks, each a ratio against direct requests to the daemon measured in the same run:
 * small GETs at 32 concurrent, a 100 MiB download (with the relay's RSS growth), and the
 * relay's RSS per idle daemon tunnel. The relay runs in a child process; the daemon here.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Chunk, Effect, Layer, ManagedRuntime, Option, Stream } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import WebSocket from "ws"
import { ConfigMemory } from "../src/layers/ConfigLive.js"
import { TunnelClientLive } from "../src/layers/TunnelClientLive.js"
import { DaemonLive } from "../src/programs/daemon/Server.js"
import { TunnelClient } from "../src/services/TunnelClient.js"
import { get, login, smallGets, type Target, waitFor } from "./support/HttpLoad.js"
import { rssBytes } from "./support/Processes.js"
import { cpuOf, makeCert, mint, startRelayProcess } from "./support/RelayProcess.js"

const MiB = 1024 * 1024
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rw-bench-relay-"))

const big = (size: number) =>
  Stream.unfoldChunk(0, (sent) => {
    if (sent >= size) return Option.none()
    const n = Math.min(64 * 1024, size - sent)
    return Option.some([Chunk.of(new Uint8Array(n).fill(97)), sent + n])
  })

/** A download-only app: the daemon has no 100 MiB route, so it stands in for one, served both ways. */
const downloadApp = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/attachments/:size",
    Effect.map(HttpRouter.params, (p) => HttpServerResponse.stream(big(Number(p.size))))
  ),
  Effect.catchAll(() => HttpServerResponse.json({ error: "not found" }, { status: 404 })),
  Effect.orDie
)

const healthStatus = (port: number) =>
  new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/health", headers: { host: `127.0.0.1:${port}` } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () =>
        resolve((JSON.parse(Buffer.concat(chunks).toString()) as { relay: { status: string } }).relay.status))
    }).on("error", reject)
  })

const relayHealth = (port: number, ca: Buffer) =>
  new Promise<number>((resolve, reject) => {
    https.get({ host: "127.0.0.1", port, path: "/_relay/health", ca }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve((JSON.parse(Buffer.concat(chunks).toString()) as { tunnels: number }).tunnels))
    }).on("error", reject)
  })

/**
 * AES-128-GCM speed here, in TLS-record-sized pieces (one 32 MiB update would mostly time the
 * allocation of its output): the relayed path pays it four times per byte, the direct path never.
 */
const aesMiBps = () => {
  const record = Buffer.alloc(16 * 1024)
  const encrypt = (mib: number) => {
    const cipher = crypto.createCipheriv("aes-128-gcm", crypto.randomBytes(16), crypto.randomBytes(12))
    for (let i = 0; i < mib * 64; i++) cipher.update(record)
    cipher.final()
  }
  encrypt(4)
  const t0 = performance.now()
  encrypt(32)
  return 32 / ((performance.now() - t0) / 1000)
}

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`

export async function run(): Promise<void> {
  const cert = makeCert()
  const db = path.join(tmp, "relay.db")
  const [daemonKey, downloadKey, ...tunnelKeys] = await mint(db, ["bench-daemon", "bench-download", "idle"])
  const relay = await startRelayProcess(cert, db)
  const base = `https://127.0.0.1:${relay.port}`
  process.env.REPOWIRE_RELAY_CA_FILE = cert.cert
  const home = fs.mkdtempSync(path.join(tmp, "home-"))
  const daemon = ManagedRuntime.make(DaemonLive.pipe(Layer.provide(ConfigMemory(home, {
    daemon: { port: 0 },
    logging: { level: "error" },
    relay: { enabled: true, url: base, api_key: daemonKey, daemon_id: "bench", e2e: "off" }
  }))))
  const download = ManagedRuntime.make(
    Layer.mergeAll(
      TunnelClientLive(downloadApp, { ca: cert.ca }),
      HttpServer.serve(downloadApp).pipe(
        Layer.provideMerge(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" }))
      )
    ).pipe(Layer.provide(ConfigMemory(fs.mkdtempSync(path.join(tmp, "dl-")), {
      relay: { enabled: true, url: base, api_key: downloadKey, daemon_id: "download", e2e: "off" }
    })))
  )
  const agents: Array<http.Agent> = []
  const keep = <A extends http.Agent>(a: A) => (agents.push(a), a)
  try {
    await daemon.runPromise(Effect.void)
    const info = JSON.parse(fs.readFileSync(path.join(home, "daemon.json"), "utf8")) as { port: number }
    await waitFor(() => healthStatus(info.port).then((s) => s === "connected", () => false), "daemon tunnel")
    const cookie = await login(base, cert.ca, daemonKey!)

    // 1. small GETs, 32 concurrent, keep-alive on both paths. (BENCH_ONLY=small|download|idle runs one part.)
    const only = process.env.BENCH_ONLY
    const direct: Target = {
      url: `http://127.0.0.1:${info.port}`,
      headers: { host: `127.0.0.1:${info.port}` },
      agent: keep(new http.Agent({ keepAlive: true, maxSockets: 32 }))
    }
    const relayed: Target = {
      url: base,
      headers: { cookie },
      agent: keep(new https.Agent({ keepAlive: true, maxSockets: 32, ca: cert.ca }))
    }
    if (only === undefined || only === "small") {
      // Warm-up: the relay's CPU per request settles only after a few thousand (the JIT's threads count too).
      await smallGets(direct, 2000, 32)
      await smallGets(relayed, 4000, 32)
      // Three alternating rounds, median of each side: the box is small and noisy. CPU time
      // moves far less with the load of other processes than wall time does, so each round
      // also takes the relay process's CPU per request, and this process's (client + daemon).
      type Round = Awaited<ReturnType<typeof smallGets>> & { relayCpu: number; benchCpu: number }
      const measured = async (t: Target): Promise<Round> => {
        const relay0 = await relay.cpuMicros()
        const bench0 = process.cpuUsage()
        const result = await smallGets(t, 2000, 32)
        const bench = process.cpuUsage(bench0)
        const relayCpu = ((await relay.cpuMicros()) - relay0) / 2000
        return { ...result, relayCpu, benchCpu: (bench.user + bench.system) / 2000 }
      }
      const rounds: Array<{ d: Round; r: Round }> = []
      for (let i = 0; i < 3; i++) rounds.push({ d: await measured(direct), r: await measured(relayed) })
      const median = <A>(xs: Array<A>, key: (a: A) => number) => xs.map(key).sort((a, b) => a - b)[1]!
      const d = { p50: median(rounds, (x) => x.d.p50), rps: median(rounds, (x) => x.d.rps) }
      const r = { p50: median(rounds, (x) => x.r.p50), rps: median(rounds, (x) => x.r.rps) }
      const us = (xs: Array<number>) => xs.map((x) => x.toFixed(0)).join("/")
      console.log(
        `relay small GET x32 (median of 3 rounds of 2,000): direct p50 ${d.p50.toFixed(2)} ms ${
          d.rps.toFixed(0)
        } req/s | relay p50 ${r.p50.toFixed(2)} ms ${r.rps.toFixed(0)} req/s | p50 ratio ${
          (r.p50 / d.p50).toFixed(2)
        }x (goal <= 2x), throughput ${(100 * r.rps / d.rps).toFixed(0)}% (goal >= 50%)`
      )
      console.log(
        `  relay CPU µs/request (3 rounds): ${us(rounds.map((x) => x.r.relayCpu))}, median ${
          median(rounds, (x) => x.r.relayCpu).toFixed(0)
        } | bench process (client + daemon) CPU µs/request: direct ${
          median(rounds, (x) => x.d.benchCpu).toFixed(0)
        }, relayed ${median(rounds, (x) => x.r.benchCpu).toFixed(0)}`
      )
    }
    // 2. 100 MiB download, with the relay's RSS sampled along the way.
    if (only === undefined || only === "download") {
      const server = await download.runPromise(HttpServer.HttpServer)
      const dlPort = server.address._tag === "TcpAddress" ? server.address.port : 0
      await waitFor(
        () =>
          download.runPromise(
            Effect.map(Effect.flatMap(TunnelClient, (c) => c.status), (s) => s.status === "connected")
          ),
        "download daemon"
      )
      const dlCookie = await login(base, cert.ca, downloadKey!)
      const size = 100 * MiB
      const directAgent = keep(new http.Agent())
      const relayAgent = keep(new https.Agent({ ca: cert.ca }))
      const rssBefore = rssBytes(relay.child.pid!)
      let rssPeak = rssBefore
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(relay.child.pid!))), 20)
      const times: Array<{ direct: number; relay: number }> = []
      // One unrecorded download each way first: the first runs through code the JIT has not
      // compiled yet. The relay's RSS is sampled through it too.
      for (let i = -1; i < 3; i++) {
        const t0 = performance.now()
        await get({ url: `http://127.0.0.1:${dlPort}`, headers: {}, agent: directAgent }, `/attachments/${size}`)
        const t1 = performance.now()
        const cpu0 = process.cpuUsage()
        const relayCpu0 = cpuOf(relay.child.pid!)
        await get({ url: base, headers: { cookie: dlCookie }, agent: relayAgent }, `/attachments/${size}`)
        if (process.env.RW_DEBUG) {
          const cpu = process.cpuUsage(cpu0)
          console.error(
            `cpu: bench ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, relay ${
              cpuOf(relay.child.pid!) - relayCpu0
            } ms, wall ${(performance.now() - t1).toFixed(0)} ms`
          )
        }
        if (i >= 0) times.push({ direct: t1 - t0, relay: performance.now() - t1 })
      }
      clearInterval(sampler)
      rssPeak = Math.max(rssPeak, rssBytes(relay.child.pid!))
      const directMs = times.map((t) => t.direct).sort((a, b) => a - b)[1]!
      const relayMs = times.map((t) => t.relay).sort((a, b) => a - b)[1]!
      const aes = aesMiBps()
      console.log(
        `  (AES-128-GCM here: ${
          aes.toFixed(0)
        } MiB/s; the relayed download encrypts and decrypts each byte twice in this process and twice in the relay: >= ${
          (2 * 100 / aes * 1000).toFixed(0)
        } ms of crypto per process, which the plain-HTTP direct path skips)`
      )
      console.log(
        `relay 100 MiB download (median of 3, after one to warm up): direct ${directMs.toFixed(0)} ms | relay ${
          relayMs.toFixed(0)
        } ms | ratio ${(relayMs / directMs).toFixed(2)}x (goal <= 3x) | relay RSS growth ${
          mb(rssPeak - rssBefore)
        } (goal <= 64 MiB)`
      )
    }

    // 3. 2,000 idle daemon tunnels held by the relay.
    if (only !== undefined && only !== "idle") return
    const settle = async () => {
      relay.child.kill("SIGUSR2")
      await new Promise((r) => setTimeout(r, 500))
      return rssBytes(relay.child.pid!)
    }
    const idleBefore = await settle()
    const sockets: Array<WebSocket> = []
    for (let i = 0; i < 2000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`wss://127.0.0.1:${relay.port}/tunnel`, {
            headers: { authorization: `Bearer ${tunnelKeys[0]}`, "x-repowire-daemon-id": `idle-${i + j}` },
            ca: cert.ca,
            perMessageDeflate: false
          })
          ws.on("open", () => resolve())
          ws.on("error", reject)
          sockets.push(ws)
        })))
    }
    await new Promise((r) => setTimeout(r, 1000))
    const idleAfter = await settle()
    const tunnels = await relayHealth(relay.port, cert.ca)
    console.log(
      `relay 2,000 idle tunnels (${tunnels} held): RSS ${mb(idleBefore)} -> ${mb(idleAfter)}, ${
        ((idleAfter - idleBefore) / 2000 / 1024).toFixed(1)
      } KiB per tunnel (goal <= 50 KiB)`
    )
    sockets.forEach((s) => s.terminate())
  } finally {
    agents.forEach((a) => a.destroy())
    await download.dispose().catch(() => undefined)
    await daemon.dispose().catch(() => undefined)
    relay.child.kill("SIGTERM")
  }
}

if (process.argv[1]?.endsWith("relay.ts")) {
  void run().then(() => process.exit(0), (e) => (console.error(e), process.exit(1)))
}
