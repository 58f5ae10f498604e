import { Effect } from "effect"
import WebSocket from "ws"
import { decodeMeshFrame, encodeMeshFrame } from "../src/protocol/MeshRelayWire.js"
import { agentSocket, as, join, linked, meshDaemon, pair, peersOf, register, until } from "../test/mesh/meshHarness.js"
import { mintKey, RelayServicesLayer, startRelay } from "../test/relay/harness.js"
import { median, ms, percentile, ratio, report, sleep } from "./support/Stats.js"

/**
 * `npm run bench -- mesh`: a cross-machine ask on loopback, from `POST /ask` on one daemon to
 * the frame on the other daemon's agent socket (sealed both ways, through a real relay in this
 * process). Beside it, three baselines from the same run: a plain relay round trip (a browser's
 * GET /health through the same relay's tunnel to a daemon, a response of about the frame's size),
 * the same ask between two agents of one daemon (no relay), and a raw frame of the frame's size
 * echoed through the relay's daemon-to-daemon switch. Goal: p50 and p99 ≤ 2× the relay round trip.
 *
 * The four are measured in turns, one round of each per step, so the machine's load at any
 * moment weighs on all of them alike; each round starts PACE_MS after the last one ended, once
 * the previous ask's receipt and ack traffic (which the round trip has none of) is over. The
 * cross-machine ask and the round trip are also measured back to back (BLOCK of a kind per
 * turn), for the cost of that traffic overlapping the next ask.
 */
const ROUNDS = 300
const WARM_UP = 30
const PACE_MS = 10
/** Back-to-back rounds of one kind per turn, in the second measurement. */
const BLOCK = 10
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

/** One timed step of a kind: resolves to its duration in ms. */
type Round = (i: number) => Promise<number>

const timed = async (body: () => Promise<void>) => {
  const started = performance.now()
  await body()
  return performance.now() - started
}

/** A frame of `size` bytes to another daemon of the user and back, through the switch. */
const echoRounds = async (url: string, key: string, size: number) => {
  const a = await rawSocket(url, key, "bench-a")
  const b = await rawSocket(url, key, "bench-b")
  b.on("message", (data: Buffer, isBinary) => {
    const frame = isBinary ? decodeMeshFrame(data) : undefined
    if (frame !== undefined) b.send(encodeMeshFrame(frame.id, frame.payload))
  })
  const payload = new Uint8Array(size).fill(97)
  const round: Round = () =>
    timed(() =>
      new Promise<void>((resolve) => {
        a.once("message", () => resolve())
        a.send(encodeMeshFrame("bench-b", payload))
      })
    )
  return { round, close: () => (a.terminate(), b.terminate()) }
}

/** A browser's session at the relay for `key` (plain HTTP here), then GET /health through the tunnel. */
const tunnelRounds = async (url: string, key: string): Promise<Round> => {
  const auth = await fetch(`${url}/auth`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
    body: `key=${encodeURIComponent(key)}`
  })
  const cookie = String(auth.headers.get("set-cookie") ?? "").split(";")[0]!
  return () =>
    timed(async () => {
      const reply = await fetch(`${url}/health`, { headers: { cookie } })
      if (reply.status !== 200) throw new Error(`tunnel: ${reply.status}`)
      await reply.text()
    })
}

/** `POST /ask` from `from` to `to`, timed until the frame reaches `socket` (the target agent's). */
const askRounds = (
  base: string,
  from: { peer_id: string; token: string },
  to: string,
  socket: Awaited<ReturnType<typeof agentSocket>>
) => {
  let frameBytes = 0
  const round: Round = (i) => {
    const text = `${TEXT}#${i}`
    return timed(async () => {
      const arrived = socket.next((f) => f.text === text)
      const answer = await fetch(`${base}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json", ...as(from as never) },
        body: JSON.stringify({ from_peer: from.peer_id, to_peer: to, text })
      })
      if (answer.status !== 200) throw new Error(`ask: ${answer.status} ${await answer.text()}`)
      frameBytes = JSON.stringify(await arrived).length
      socket.frames.length = 0
    })
  }
  return { round, frameBytes: () => frameBytes }
}

/**
 * Rounds of every kind in turns, `block` of a kind back to back per turn, `pace` ms after each
 * turn; the samples of each kind after the warm-up.
 */
const inTurns = async (kinds: ReadonlyArray<Round>, rounds: number, pace: number, block = 1) => {
  const samples = kinds.map((): Array<number> => [])
  for (let i = 0; i < rounds + WARM_UP; i += block) {
    for (const [k, round] of kinds.entries()) {
      for (let j = i; j < i + block; j++) {
        const took = await round(j)
        if (j >= WARM_UP) samples[k]!.push(took)
      }
      await sleep(pace)
    }
  }
  return samples
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
        const solo = await meshDaemon(relay.url, soloKey, "solo")
        try {
          const front = await register(laptop.url, { name: "front", backend: "claude-code" })
          const api = await register(server.url, { name: "api", backend: "codex" })
          const neighbour = await register(server.url, { name: "neighbour", backend: "gemini" })
          const socket = await agentSocket(server, api)
          const nearSocket = await agentSocket(server, neighbour)
          if ((await join(server, await pair(laptop))).status !== 200) throw new Error("join failed")
          await linked(laptop, "server")
          await until("api on the laptop", async () => (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id))
          const cross = askRounds(laptop.url, front, "api@server", socket)
          const local = askRounds(server.url, api, "neighbour", nearSocket)
          const tunnel = await tunnelRounds(relay.url, soloKey)
          await cross.round(-1)
          const echo = await echoRounds(relay.url, key, cross.frameBytes())
          const [asks, trips, near, raw] = await inTurns(
            [cross.round, tunnel, local.round, echo.round],
            ROUNDS,
            PACE_MS
          )
          const [asksBackToBack, tripsBackToBack] = await inTurns([cross.round, tunnel], ROUNDS, PACE_MS, BLOCK)
          echo.close()
          socket.close()
          nearSocket.close()
          report(
            `cross-machine ask → delivered on loopback (${ROUNDS} of each, in turns ${PACE_MS} ms apart; frame ${cross.frameBytes()} bytes)`,
            [
              ["ask → delivered across machines, p50 / p99", p50p99(asks!)],
              ["relay round trip (GET /health through the tunnel)", p50p99(trips!)],
              ["same ask on one daemon (no relay)", p50p99(near!)],
              ["raw frame echoed through the mesh switch", p50p99(raw!)],
              ["p50 vs relay round trip (goal ≤ 2×)", ratio(median(asks!), median(trips!))],
              ["p99 vs relay round trip (goal ≤ 2×)", ratio(percentile(asks!, 99), percentile(trips!, 99))],
              ["p50 vs the same ask on one daemon", ratio(median(asks!), median(near!))],
              [`back to back (${BLOCK} per turn): ask across, p50 / p99`, p50p99(asksBackToBack!)],
              ["back to back: relay round trip, p50 / p99", p50p99(tripsBackToBack!)],
              [
                "back to back: p50 / p99 vs round trip",
                `${ratio(median(asksBackToBack!), median(tripsBackToBack!))} / ${
                  ratio(percentile(asksBackToBack!, 99), percentile(tripsBackToBack!, 99))
                }`
              ]
            ]
          )
        } finally {
          await laptop.close()
          await server.close()
          await solo.close()
        }
      })
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:")))
  )
