import * as fs from "node:fs"
import * as path from "node:path"
import WebSocket from "ws"
import { agent, post } from "./support/Http.js"
import { startDaemonProcess } from "./support/Processes.js"
import { median, ms, percentile, ratio, report, sleep } from "./support/Stats.js"

/**
 * `npm run bench -- policy`: ask → delivered with a 100-rule policy.yaml beside the same daemon
 * with none, in one run. Asks to the two daemons take turns, so both are measured over the
 * same seconds. The rules never match the bench's peers: every ask walks all 100 before the
 * default decides, the slowest way through the rule set.
 */
const RULES = 100
const WARM_UP = 100
const ASKS = 1000
const PER_SECOND = 50

/** A hundred rules of every selector kind, none of which decides for the bench's peers. */
export const hundredRules = () => {
  const selectors = (i: number) => [
    `name:blocked-${i}-*`,
    `backend:gemini`,
    `role:service`,
    `machine:host-${i}`,
    `circle:ops-${i}`,
    `via:relay`
  ]
  const rules = Array.from({ length: RULES }, (_, i) => {
    const from = selectors(i)[i % 6]!
    return `  - {effect: deny, from: "${from}", to: "name:target*", actions: [ask, notify]}`
  })
  return `default: allow\nrules:\n${rules.join("\n")}\n`
}

const mesh = async (base: string, onAsk: (text: string, at: number) => void) => {
  const targets = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    const peer = await post(base, "/peers", { name: `target${i}`, backend: "codex", circle: "bench" })
    const socket = new WebSocket(base.replace("http", "ws") + "/ws")
    await new Promise((r) => socket.on("open", r))
    const connected = new Promise((r) =>
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data))
        if (frame.type === "connected") r(undefined)
        else if (frame.type === "ping") socket.send(JSON.stringify({ type: "pong", nonce: frame.nonce }))
        else {
          if (frame.type === "ask") onAsk(frame.text, performance.now())
          setImmediate(() =>
            socket.send(JSON.stringify({ type: "delivery_ack", message_id: frame.message_id, outcome: "received" }))
          )
        }
      })
    )
    socket.send(JSON.stringify({ type: "connect", peer_id: peer.peer_id, token: peer.token }))
    await connected
    return { peer, socket }
  }))
  const sender = await post(base, "/peers", { name: "asker", backend: "codex", circle: "bench" })
  return { targets, sender }
}

export const run = async () => {
  const plain = await startDaemonProcess()
  const ruled = await startDaemonProcess(
    {},
    (home) => fs.writeFileSync(path.join(home, "policy.yaml"), hundredRules(), { mode: 0o600 })
  )
  try {
    const waiting = new Map<string, (at: number) => void>()
    const onAsk = (text: string, at: number) => waiting.get(text)?.(at)
    const sides = [
      { name: "no policy", url: plain.url, mesh: await mesh(plain.url, onAsk), samples: [] as Array<number> },
      { name: `${RULES} rules`, url: ruled.url, mesh: await mesh(ruled.url, onAsk), samples: [] as Array<number> }
    ]
    const health = await fetch(`${ruled.url}/health`).then((r) => r.json()) as {
      policy: { status: string; rules: number }
    }
    if (health.policy.status !== "ok" || health.policy.rules !== RULES) {
      throw new Error(`policy not in force: ${JSON.stringify(health.policy)}`)
    }
    const pending: Array<Promise<void>> = []
    for (let i = -WARM_UP; i < ASKS; i++) {
      for (const side of sides) {
        const text = `${side.name} ${i}`
        const target = side.mesh.targets[(i + WARM_UP) % side.mesh.targets.length]!.peer
        const started = performance.now()
        pending.push(
          new Promise<void>((resolve) => {
            waiting.set(text, (at) => {
              if (i >= 0) side.samples.push(at - started)
              waiting.delete(text)
              resolve()
            })
            void post(side.url, "/ask", { from_peer: side.mesh.sender.peer_id, to_peer: target.peer_id, text }, {
              "x-repowire-peer-token": side.mesh.sender.token
            })
          })
        )
        await sleep(500 / PER_SECOND)
      }
    }
    await Promise.all(pending)
    for (const side of sides) side.mesh.targets.forEach((t) => t.socket.close())
    const [none, hundred] = sides.map((s) => s.samples) as [Array<number>, Array<number>]
    const p99 = (v: ReadonlyArray<number>) => percentile(v, 99)
    report(`ask → delivered with ${RULES} access rules vs none (${ASKS} asks each at ${PER_SECOND}/s, taking turns)`, [
      ["no policy p50 / p99", `${ms(median(none))} / ${ms(p99(none))}`],
      [`${RULES} rules p50 / p99`, `${ms(median(hundred))} / ${ms(p99(hundred))}`],
      ["p50 ratio", ratio(median(hundred), median(none))],
      ["p99 ratio (goal ≤ 1.05×)", ratio(p99(hundred), p99(none))]
    ])
  } finally {
    plain.child.kill("SIGKILL")
    ruled.child.kill("SIGKILL")
    agent.destroy()
  }
}
