import * as fs from "node:fs"
import * as path from "node:path"
import WebSocket from "ws"
import { agent, post } from "./support/Http.js"
import { startDaemonProcess } from "./support/Processes.js"
import { median, ms, percentile, ratio, report, sleep } from "./support/Stats.js"

/**
 * `npm run bench -- policy`: ask → delivered with a 100-rule policy.yaml beside the same daemon
 * with none, in one run. Asks to the two daemons take turns, so both are measured over the
 * same seconds, and the rules move from one daemon to the other between phases. The rules
 * never match the bench's peers: every ask walks all 100 before the default decides, the
 * slowest way through the rule set.
 */
const RULES = 100
const WARM_UP = 100
const ASKS = 2000
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

const POLICY_PHASES = 4

/** Waits until the daemon's /health shows the rules in force (or none), as a hot reload leaves them. */
const policyIs = async (url: string, rules: number) => {
  for (let i = 0; i < 200; i++) {
    const health = await fetch(`${url}/health`).then((r) => r.json()) as { policy: { status: string; rules: number } }
    if (
      rules === 0
        ? health.policy.status === "none"
        : health.policy.status === "ok" && health.policy.rules === rules
    ) {
      return
    }
    await sleep(25)
  }
  throw new Error(`policy of ${url} not ${rules === 0 ? "gone" : "in force"}`)
}

export const run = async () => {
  const daemons = [await startDaemonProcess(), await startDaemonProcess()]
  try {
    const waiting = new Map<string, (at: number) => void>()
    const onAsk = (text: string, at: number) => waiting.get(text)?.(at)
    const sides = await Promise.all(daemons.map(async (d) => ({ ...d, mesh: await mesh(d.url, onAsk) })))
    const samples = { none: [] as Array<number>, hundred: [] as Array<number> }
    // Each process spends half the run with the rules and half without (swapped by a hot
    // reload between phases), so a difference between the two processes cancels out.
    for (let phase = 0; phase < POLICY_PHASES; phase++) {
      const ruled = phase % 2
      for (const [i, side] of sides.entries()) {
        const file = path.join(side.home, "policy.yaml")
        if (i === ruled) fs.writeFileSync(`${file}.tmp`, hundredRules(), { mode: 0o600 })
        if (i === ruled) fs.renameSync(`${file}.tmp`, file)
        else fs.rmSync(file, { force: true })
        await policyIs(side.url, i === ruled ? RULES : 0)
      }
      const pending: Array<Promise<void>> = []
      const perPhase = ASKS / POLICY_PHASES
      for (let i = phase === 0 ? -WARM_UP : 0; i < perPhase; i++) {
        for (const [s, side] of sides.entries()) {
          const bucket = s === ruled ? samples.hundred : samples.none
          const text = `${phase} ${s} ${i}`
          const target = side.mesh.targets[(i + WARM_UP) % side.mesh.targets.length]!.peer
          const started = performance.now()
          pending.push(
            new Promise<void>((resolve) => {
              waiting.set(text, (at) => {
                if (i >= 0) bucket.push(at - started)
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
    }
    for (const side of sides) side.mesh.targets.forEach((t) => t.socket.close())
    const { none, hundred } = samples
    const p99 = (v: ReadonlyArray<number>) => percentile(v, 99)
    report(
      `ask → delivered with ${RULES} access rules vs none (${ASKS} asks each at ${PER_SECOND}/s, taking turns; ` +
        `the rules swap between the two daemons every ${ASKS / POLICY_PHASES})`,
      [
        ["no policy p50 / p99", `${ms(median(none))} / ${ms(p99(none))}`],
        [`${RULES} rules p50 / p99`, `${ms(median(hundred))} / ${ms(p99(hundred))}`],
        ["p50 ratio", ratio(median(hundred), median(none))],
        ["p99 ratio (goal ≤ 1.05×)", ratio(p99(hundred), p99(none))]
      ]
    )
  } finally {
    for (const d of daemons) d.child.kill("SIGKILL")
    agent.destroy()
  }
}
