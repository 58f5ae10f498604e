import { Effect } from "effect"
import WebSocket from "ws"
import { decodeMeshFrame, encodeMeshFrame } from "../src/protocol/MeshRelayWire.js"
import { agentSocket, as, join, linked, meshDaemon, pair, peersOf, register, until } from "../test/mesh/meshHarness.js"
import { mintKey, RelayServicesLayer, startRelay } from "../test/relay/harness.js"
import { median, ms, percentile, ratio, report } from "./support/Stats.js"

/**
 * `npm run bench -- mesh`: a cross-machine ask on loopback, from `POST /ask` on one daemon to
 * the frame on the other daemon's agent socket (sealed both ways, through a real relay in this
 * process). Beside it, three baselines from the same run: a plain relay round trip (a browser's
 * GET /health through the same relay's tunnel to a daemon, a response of about the frame's size),
 * the same ask between two agents of one daemon (no relay), and a raw frame of the frame's size
 * echoed through the relay's daemon-to-daemon switch. Goal: p50 and p99 ≤ 2× the relay round trip.
 */
const ROUNDS = 300
const WARM_UP = 30
const TEXT = "which endpoints does the api have? ".repeat(4)

const rawSocket = (url: string, key: string, daemonId: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/mesh`, {
      headers: { authorization: `Bearer ${key}`, "x-repowire-daemon-id": daemonId },
      perMessageDeflate: false
    })
    ws.on("message", (data: Buffer, isBinary) => {
      if (isBinary) return
      if (String(data).includes("present")) resolve(ws)
    })
    ws.on("error", reject)
  })

const relayRoundTrips = async (url: string, key: string, size: number) => {
  const a = await rawSocket(url, key, "bench-a")
  const b = await rawSocket(url, key, "bench-b")
  b.on("message", (data: Buffer, isBinary) => {
    const frame = isBinary ? decodeMeshFrame(data) : undefined
    if (frame !== undefined) b.send(encodeMeshFrame(frame.id, frame.payload))
  })
  const payload = new Uint8Array(size).fill(97)
  const samples: Array<number> = []
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const started = performance.now()
    await new Promise<void>((resolve) => {
      a.once("message", () => resolve())
      a.send(encodeMeshFrame("bench-b", payload))
    })
    if (i >= WARM_UP) samples.push(performance.now() - started)
  }
  a.terminate()
  b.terminate()
  return samples
}

/** A browser's session at the relay for `key` (plain HTTP here), then timed GET /health through the tunnel. */
const tunnelRoundTrips = async (url: string, key: string) => {
  const auth = await fetch(`${url}/auth`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
    body: `key=${encodeURIComponent(key)}`
  })
  const cookie = String(auth.headers.get("set-cookie") ?? "").split(";")[0]!
  const samples: Array<number> = []
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const started = performance.now()
    const reply = await fetch(`${url}/health`, { headers: { cookie } })
    if (reply.status !== 200) throw new Error(`tunnel: ${reply.status}`)
    await reply.text()
    if (i >= WARM_UP) samples.push(performance.now() - started)
  }
  return samples
}

const timedAsks = async (
  base: string,
  from: { peer_id: string; token: string },
  to: string,
  socket: Awaited<ReturnType<typeof agentSocket>>
) => {
  const samples: Array<number> = []
  let frameBytes = 0
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const text = `${TEXT}#${i}`
    const started = performance.now()
    const arrived = socket.next((f) => f.text === text)
    const answer = await fetch(`${base}/ask`, {
      method: "POST",
      headers: { "content-type": "application/json", ...as(from as never) },
      body: JSON.stringify({ from_peer: from.peer_id, to_peer: to, text })
    })
    if (answer.status !== 200) throw new Error(`ask: ${answer.status} ${await answer.text()}`)
    const frame = await arrived
    if (i >= WARM_UP) samples.push(performance.now() - started)
    frameBytes = JSON.stringify(frame).length
    socket.frames.length = 0
  }
  return { samples, frameBytes }
}

const p50p99 = (values: ReadonlyArray<number>) => `${ms(median(values))} / ${ms(percentile(values, 99))}`

export const run = () =>
  Effect.runPromise(
    Effect.gen(function*() {
      const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
      const key = yield* mintKey("bench")
      const soloKey = yield* mintKey("solo")
      yield* Effect.promise(async () => {
        const laptop = await meshDaemon(relay.url, key, "laptop")
        const server = await meshDaemon(relay.url, key, "server")
        try {
          const front = await register(laptop.url, { name: "front", backend: "claude-code" })
          const api = await register(server.url, { name: "api", backend: "codex" })
          const socket = await agentSocket(server, api)
          if ((await join(server, await pair(laptop))).status !== 200) throw new Error("join failed")
          await linked(laptop, "server")
          await until("api on the laptop", async () => (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id))
          const { frameBytes, samples } = await timedAsks(laptop.url, front, "api@server", socket)
          socket.close()
          const neighbour = await register(server.url, { name: "neighbour", backend: "gemini" })
          const nearSocket = await agentSocket(server, neighbour)
          const local = await timedAsks(server.url, api, "neighbour", nearSocket)
          nearSocket.close()
          const solo = await meshDaemon(relay.url, soloKey, "solo")
          const tunnel = await tunnelRoundTrips(relay.url, soloKey).finally(() => solo.close())
          const raw = await relayRoundTrips(relay.url, key, frameBytes)
          report(`cross-machine ask → delivered on loopback (${ROUNDS} asks, frame ${frameBytes} bytes)`, [
            ["ask → delivered across machines, p50 / p99", p50p99(samples)],
            ["relay round trip (GET /health through the tunnel)", p50p99(tunnel)],
            ["same ask on one daemon (no relay)", p50p99(local.samples)],
            ["raw frame echoed through the mesh switch", p50p99(raw)],
            ["p50 vs relay round trip (goal ≤ 2×)", ratio(median(samples), median(tunnel))],
            ["p99 vs relay round trip (goal ≤ 2×)", ratio(percentile(samples, 99), percentile(tunnel, 99))],
            ["p50 vs the same ask on one daemon", ratio(median(samples), median(local.samples))]
          ])
        } finally {
          await laptop.close()
          await server.close()
        }
      })
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:")))
  )
