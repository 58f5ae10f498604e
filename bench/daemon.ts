import WebSocket from "ws"
import { agent, post } from "./support/Http.js"
import { cpuSeconds, startAskFloor, startBaseline, startDaemonProcess } from "./support/Processes.js"
import { median, ms, percentile, ratio, report, sleep } from "./support/Stats.js"

interface Peer {
  readonly peer_id: string
  readonly token: string
  readonly display_name: string
}

/**
 * When a bench peer sends its receipt. Each real agent is its own process; here all share one
 * thread, so a receipt sent on arrival would hold up the next peer's frame. By default the
 * receipt goes out once the frames already in hand are seen.
 */
type SendReceipt = (send: () => void) => void
const afterFramesInHand: SendReceipt = (send) => setImmediate(send)

/** Registers a peer and opens its /ws transport, answering pings and confirming frames. */
const connectPeer = async (
  base: string,
  name: string,
  circle: string,
  onFrame: (frame: any) => void = () => {},
  sendReceipt: SendReceipt = afterFramesInHand
) => {
  const peer = await post(base, "/peers", { name, backend: "codex", circle }) as Peer
  const socket = new WebSocket(base.replace("http", "ws") + "/ws")
  await new Promise((r) => socket.on("open", r))
  const connected = new Promise((r) =>
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data))
      if (frame.type === "connected") r(undefined)
      else if (frame.type === "ping") socket.send(JSON.stringify({ type: "pong", nonce: frame.nonce }))
      else {
        onFrame(frame)
        sendReceipt(() =>
          socket.send(JSON.stringify({ type: "delivery_ack", message_id: frame.message_id, outcome: "received" }))
        )
      }
    })
  )
  socket.send(JSON.stringify({ type: "connect", peer_id: peer.peer_id, token: peer.token }))
  await connected
  return { peer, socket }
}

/**
 * Latency runs start with WARM_UP unrecorded rounds, on both sides: the first asks run through
 * code the JIT has not compiled yet, and they are not the daemon's steady latency.
 */
const WARM_UP = 100
/** Recorded asks per run: the p99 is then the 10th slowest, not the 5th. */
const ASKS = 1000

/** A bare `ws` echo: the physical floor of one round trip on loopback. */
const openEcho = async (url: string) => {
  const socket = new WebSocket(url)
  await new Promise((r) => socket.on("open", r))
  const roundTrip = (i: number) =>
    new Promise<number>((resolve) => {
      const started = performance.now()
      socket.once("message", () => resolve(performance.now() - started))
      socket.send(`echo:${i}`)
    })
  return { roundTrip, close: () => socket.close() }
}

/**
 * Asks and bare round trips take turns, half an interval apart: both are measured over the
 * same seconds, so a noisy moment on the machine weighs on both sides alike.
 */
const askLatency = async (base: string, bareUrl: string, count: number, perSecond: number) => {
  const waiting = new Map<string, (at: number) => void>()
  const targets = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      connectPeer(base, `target${i}`, "bench", (frame) => {
        if (frame.type === "ask") waiting.get(frame.text)?.(performance.now())
      }))
  )
  const sender = await post(base, "/peers", { name: "asker", backend: "codex", circle: "bench" }) as Peer
  const echo = await openEcho(bareUrl)
  const asks: Array<number> = []
  const bare: Array<number> = []
  const pending: Array<Promise<void>> = []
  for (let i = -WARM_UP; i < count; i++) {
    const text = `question ${i}`
    const target = targets[(i + WARM_UP) % targets.length]!.peer
    const started = performance.now()
    pending.push(
      new Promise<void>((resolve) => {
        waiting.set(text, (at) => {
          if (i >= 0) asks.push(at - started)
          waiting.delete(text)
          resolve()
        })
        void post(base, "/ask", { from_peer: sender.peer_id, to_peer: target.peer_id, text }, {
          "x-repowire-peer-token": sender.token
        })
      })
    )
    await sleep(500 / perSecond)
    const roundTrip = await echo.roundTrip(i)
    if (i >= 0) bare.push(roundTrip)
    await sleep(500 / perSecond)
  }
  await Promise.all(pending)
  echo.close()
  targets.forEach((t) => t.socket.close())
  return { asks, bare }
}

/**
 * Each broadcast is timed on its own: the receipts of the last one are settled before the
 * next starts, as they would be between two real announcements. Same pause for the baseline.
 */
const BETWEEN_ROUNDS_MS = 250

const broadcastFanout = async (base: string, recipients: number, rounds: number) => {
  let received = 0
  let lastAt = 0
  const peers = []
  // The 200 peers' receipts go out once all 200 frames are in: 200 sends on the shared thread
  // would otherwise be timed as fan-out latency. The daemon records them between rounds.
  let receipts: Array<() => void> = []
  const afterRound: SendReceipt = (send) => receipts.push(send)
  for (let i = 0; i < recipients; i++) {
    peers.push(
      await connectPeer(base, `member${i}`, "fanout", (frame) => {
        if (frame.type === "broadcast") {
          received++
          lastAt = performance.now()
        }
      }, afterRound)
    )
  }
  const sender = await post(base, "/peers", { name: "announcer", backend: "codex", circle: "fanout" }) as Peer
  const samples: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    await sleep(BETWEEN_ROUNDS_MS)
    received = 0
    const started = performance.now()
    await post(base, "/broadcast", { from_peer: sender.peer_id, text: `round ${round}` }, {
      "x-repowire-peer-token": sender.token
    })
    while (received < recipients) await sleep(1)
    samples.push(lastAt - started)
    receipts.forEach((send) => send())
    receipts = []
  }
  peers.forEach((p) => p.socket.close())
  return samples
}

const bareFanout = async (url: string, recipients: number, rounds: number) => {
  let received = 0
  let lastAt = 0
  const sockets = await Promise.all(Array.from({ length: recipients }, async () => {
    const socket = new WebSocket(url)
    await new Promise((r) => socket.on("open", r))
    socket.on("message", () => {
      received++
      lastAt = performance.now()
    })
    return socket
  }))
  const trigger = new WebSocket(url)
  await new Promise((r) => trigger.on("open", r))
  const samples: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    await sleep(BETWEEN_ROUNDS_MS)
    received = 0
    const started = performance.now()
    trigger.send(`fanout:${round}`)
    while (received < recipients) await sleep(1)
    samples.push(lastAt - started)
  }
  ;[...sockets, trigger].forEach((s) => s.close())
  return samples
}

const idleCpu = async (pid: number, base: string, peers: number, seconds: number) => {
  const connected = await Promise.all(Array.from({ length: peers }, (_, i) => connectPeer(base, `idle${i}`, "idle")))
  // Warm up first: one full keepalive round (30 s) runs the ping path through the JIT.
  await sleep(32_000)
  const before = cpuSeconds(pid)
  await sleep(seconds * 1000)
  const used = cpuSeconds(pid) - before
  connected.forEach((c) => c.socket.close())
  return used
}

/** BENCH_ONLY=ask|broadcast|idle runs one part. */
const wanted = (part: string) => process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === part

export const run = async (options: { readonly idleSeconds?: number } = {}) => {
  const idleSeconds = options.idleSeconds ?? 60
  const baseline = await startBaseline()
  const daemon = await startDaemonProcess()
  try {
    if (wanted("ask")) {
      const daemonRun = await askLatency(daemon.url, baseline.url, ASKS, 50)
      // The same run against the ask floor: what this machine allows a Node process that does
      // the same durable work and nothing else, beside its own bare round trips.
      const floor = await startAskFloor()
      const floorRun = await askLatency(floor.url, baseline.url, ASKS, 50).finally(() => floor.child.kill("SIGKILL"))
      const p99 = (values: ReadonlyArray<number>) => percentile(values, 99)
      const figures = (values: ReadonlyArray<number>) => `${ms(median(values))} / ${ms(p99(values))}`
      report(
        `ask → delivered on the target's socket (30 peers, 50 asks/s, ${ASKS} asks after ${WARM_UP} to warm up, bare round trips in between)`,
        [
          ["bare ws round trip p50 / p99", figures(daemonRun.bare)],
          ["ask → delivered p50 / p99", figures(daemonRun.asks)],
          ["p99 ratio (goal ≤ 3×)", ratio(p99(daemonRun.asks), p99(daemonRun.bare))],
          ["ask floor: bare ws p50 / p99", figures(floorRun.bare)],
          ["ask floor: ask → delivered p50 / p99", figures(floorRun.asks)],
          ["ask floor: p99 ratio", ratio(p99(floorRun.asks), p99(floorRun.bare))],
          ["daemon p99 vs the floor's p99", ratio(p99(daemonRun.asks), p99(floorRun.asks))]
        ]
      )
    }

    if (wanted("broadcast")) {
      const bareFan = await bareFanout(baseline.url, 200, 10)
      const fan = await broadcastFanout(daemon.url, 200, 10)
      report("broadcast to 200 peers of a circle (median of 10)", [
        ["200 bare ws sends, last arrival", ms(median(bareFan))],
        ["broadcast, last delivery", ms(median(fan))],
        ["ratio (goal ≤ 3×)", ratio(median(fan), median(bareFan))]
      ])
    }

    if (wanted("idle")) {
      // A fresh daemon: idle means nothing left over from the load above.
      const quiet = await startDaemonProcess()
      const cpu = await idleCpu(quiet.child.pid!, quiet.url, 20, idleSeconds).finally(() => quiet.child.kill("SIGKILL"))
      report(`idle daemon, 20 connected peers, ${idleSeconds} s`, [
        ["CPU used", `${cpu.toFixed(3)} s`],
        ["goal", `≤ ${(0.05 * idleSeconds / 60).toFixed(3)} s (0.05 s per 60 s)`]
      ])
    }
  } finally {
    daemon.child.kill("SIGKILL")
    baseline.child.kill("SIGKILL")
    agent.destroy()
  }
}
