/**
 * The sealed channel against the plain tunnel, one run: small GETs at 32 concurrent (p50 and
 * throughput) and a 100 MiB download. Relay (plain HTTP, as behind a TLS proxy), two daemons
 * (one `relay.e2e: required`, one `off`) and the client share this process, so both sides pay
 * the same event loop.
 */
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import WebSocket from "ws"
import { ConfigMemory } from "../src/layers/ConfigLive.js"
import { RelayLive } from "../src/layers/RelayLive.js"
import { makeDaemonLive } from "../src/programs/daemon/Server.js"
import { defaultRelayOptions } from "../src/programs/relay/RelayContext.js"
import { makeRelayServer } from "../src/programs/relay/RelayServer.js"
import { type ChannelSocket, SealedChannel } from "../src/protocol/sealed/ChannelClient.js"
import { pairWith } from "../src/protocol/sealed/PairingClient.js"
import { generateKeyPair } from "../src/protocol/sealed/Primitives.js"
import { ApiKeys } from "../src/services/ApiKeys.js"
import { median, ms, ratio, report } from "./support/Stats.js"

const MiB = 1024 * 1024
const CONCURRENCY = 32
const ROUNDS = 40
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rw-bench-sealed-"))

const startDaemon = async (name: string, relayUrl: string, key: string, e2e: "required" | "off") => {
  const home = fs.mkdtempSync(path.join(tmp, `${name}-`))
  const config = {
    daemon: { port: 0, attachments: { max_bytes: 128 * MiB } },
    logging: { level: "error" },
    relay: { enabled: true, url: relayUrl.replace(/^http/, "ws"), api_key: key, daemon_id: name, e2e }
  }
  const runtime = ManagedRuntime.make(
    makeDaemonLive({ directRoutes: true }).pipe(Layer.provide(ConfigMemory(home, config)))
  )
  await runtime.runPromise(Effect.void)
  const { url } = JSON.parse(fs.readFileSync(path.join(home, "daemon.json"), "utf8")) as { url: string }
  for (let i = 0; i < 400; i++) {
    const health = await (await fetch(`${url}/health`)).json() as { relay: { status: string } }
    if (health.relay.status === "connected") break
    await new Promise((r) => setTimeout(r, 25))
  }
  return { home, url, close: () => runtime.dispose() }
}

const login = async (base: string, key: string) => {
  const res = await fetch(`${base}/auth`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
    body: `key=${encodeURIComponent(key)}`,
    redirect: "manual"
  })
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!
}

const uploadBig = async (daemonUrl: string) => {
  const file = path.join(tmp, "big.bin")
  if (!fs.existsSync(file)) {
    const handle = await fs.promises.open(file, "w")
    for (let i = 0; i < 100; i++) await handle.write(new Uint8Array(MiB).fill(i))
    await handle.close()
  }
  const form = new FormData()
  form.append("file", await fs.openAsBlob(file), "big.bin")
  const reply = await (await fetch(`${daemonUrl}/attachments`, { method: "POST", body: form })).json() as any
  return reply.attachments[0].id as string
}

const drain = async (body: ReadableStream<Uint8Array> | null) => {
  let n = 0
  const reader = body!.getReader()
  while (true) {
    const { done, value } = await reader.read()
    if (done) return n
    n += value.length
  }
}

/** ROUNDS rounds of CONCURRENCY requests at once: the median latency and requests per second. */
const smallGets = async (get: () => Promise<void>) => {
  const samples: Array<number> = []
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      const t = performance.now()
      await get()
      samples.push(performance.now() - t)
    }))
  }
  return { p50: median(samples), rps: (ROUNDS * CONCURRENCY) / ((performance.now() - started) / 1000) }
}

const timed = async (f: () => Promise<number>) => {
  const t = performance.now()
  const bytes = await f()
  if (bytes !== 100 * MiB) throw new Error(`downloaded ${bytes} bytes`)
  return (performance.now() - t) / 1000
}

export const run = async () => {
  const relayRuntime = ManagedRuntime.make(RelayLive(path.join(tmp, "relay.db")))
  const scope = await relayRuntime.runPromise(Scope.make())
  const relay = await relayRuntime.runPromise(
    Scope.extend(
      makeRelayServer({ ...defaultRelayOptions, host: "127.0.0.1", port: 0, tls: undefined, drainMs: 0 }),
      scope
    )
  )
  const mint = (user: string) =>
    relayRuntime.runPromise(Effect.map(Effect.flatMap(ApiKeys, (k) => k.create(user)), (m) => Redacted.value(m.key)))
  const sealedKey = await mint("sealed")
  const plainKey = await mint("plain")
  const sealedDaemon = await startDaemon("sealed", relay.url, sealedKey, "required")
  const plainDaemon = await startDaemon("plain", relay.url, plainKey, "off")
  try {
    const sealedCookie = await login(relay.url, sealedKey)
    const plainCookie = await login(relay.url, plainKey)
    const ticket = await (await fetch(`${sealedDaemon.url}/relay/pair`, {
      method: "POST",
      headers: { "x-repowire-human-credential": fs.readFileSync(path.join(sealedDaemon.home, "human.token"), "utf8") }
    })).json() as { secret: string }
    const browser = await Effect.runPromise(generateKeyPair())
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${relay.url}${p}`, {
        method: "POST",
        headers: { cookie: sealedCookie, origin: relay.url, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
      return { status: res.status, body: await res.json() }
    }
    const paired = await pairWith(post, ticket.secret, browser, "bench")
    const socket = await new Promise<ChannelSocket>((resolve, reject) => {
      const ws = new WebSocket(`${relay.url.replace(/^http/, "ws")}/sealed/channel`, {
        headers: { cookie: sealedCookie, origin: relay.url }
      })
      ws.once("open", () => resolve(ws as unknown as ChannelSocket))
      ws.once("error", reject)
    })
    const channel = await SealedChannel.open(socket, browser, paired.daemonKey)

    const plainGet = async () => {
      const res = await fetch(`${relay.url}/peers`, { headers: { cookie: plainCookie } })
      if (res.status !== 200) throw new Error(`plain ${res.status}`)
      await res.arrayBuffer()
    }
    const sealedGet = async () => {
      const res = await channel.fetch("/peers")
      if (res.status !== 200) throw new Error(`sealed ${res.status}`)
      await drain(res.body)
    }
    // Warm-up: the JIT's first pass is neither side's steady cost.
    await smallGets(plainGet)
    await smallGets(sealedGet)
    const plain = await smallGets(plainGet)
    const sealed = await smallGets(sealedGet)

    const plainId = await uploadBig(plainDaemon.url)
    const sealedId = await uploadBig(sealedDaemon.url)
    const plainDownload = await timed(async () =>
      drain((await fetch(`${relay.url}/attachments/${plainId}`, { headers: { cookie: plainCookie } })).body)
    )
    // The relay shares this process, so the process's growth over the sealed download bounds the relay's.
    const rssBefore = process.memoryUsage().rss
    const sealedDownload = await timed(async () => drain((await channel.fetch(`/attachments/${sealedId}`)).body))
    const rssGrowth = (process.memoryUsage().rss - rssBefore) / MiB

    report(
      `sealed channel vs plain tunnel (in one process; ${ROUNDS} rounds of ${CONCURRENCY} concurrent GET /peers)`,
      [
        ["small GET p50, plain / sealed", `${ms(plain.p50)} / ${ms(sealed.p50)}`],
        ["small GET p50, sealed vs plain (goal ≤ 1.3×)", ratio(sealed.p50, plain.p50)],
        ["small GET throughput, plain / sealed", `${plain.rps.toFixed(0)} / ${sealed.rps.toFixed(0)} req/s`],
        ["small GET throughput, sealed of plain (goal ≥ 75 %)", `${((sealed.rps / plain.rps) * 100).toFixed(0)} %`],
        ["100 MiB download, plain / sealed", `${plainDownload.toFixed(2)} s / ${sealedDownload.toFixed(2)} s`],
        ["100 MiB download, sealed vs plain (goal ≤ 1.5×)", ratio(sealedDownload, plainDownload)],
        ["RSS growth over the sealed download, whole process (relay's goal ≤ 64 MiB)", `${rssGrowth.toFixed(0)} MiB`]
      ]
    )
    channel.close()
  } finally {
    await sealedDaemon.close()
    await plainDaemon.close()
    await relayRuntime.runPromise(Scope.close(scope, Exit.void))
    await relayRuntime.dispose()
  }
}
