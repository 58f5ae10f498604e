import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { httpJson, killDeliveries, runBin, startDaemon, tempDir } from "../test/agents/Harness.js"
import { ms as fmt, percentile } from "./support/Stats.js"

/**
 * From `POST /ask` to the text injected into the recipient's tmux pane and confirmed
 * (delivery_ack injected → the ask is `delivered`). Baseline in the same run: the bare tmux
 * floor, one load-buffer + paste-buffer + capture-pane cycle by hand.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const run = async (iterations = 30): Promise<void> => {
  const daemon = await startDaemon()
  const root = tempDir("rw-bench-tmux-")
  const socket = path.join(root, "tmux.sock")
  const tmux = (...args: Array<string>) => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" })
  try {
    const dir = path.join(root, "api")
    fs.mkdirSync(dir)
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "bench", "-x", "200", "-y", "50", "-c", dir, "cat")
    const pane = tmux("list-panes", "-t", "bench", "-F", "#{pane_id}").trim()
    const env = { ...daemon.env, TMUX: `${socket},1,0`, TMUX_PANE: pane }
    const start = await runBin(["hook", "session-start"], { env, cwd: dir, input: JSON.stringify({ cwd: dir }) })
    if (start.code !== 0) throw new Error(start.stderr)
    const sender = await httpJson(daemon.url, "POST", "/peers", {
      body: { name: "sender", backend: "cli", circle: "bench" }
    })
    const headers = { "x-repowire-peer-token": sender.body.token as string }

    const floor: Array<number> = []
    for (let i = 0; i < iterations; i++) {
      const started = performance.now()
      execFileSync("tmux", ["-S", socket, "load-buffer", "-b", "floor", "-"], { input: `floor ${i}` })
      tmux("paste-buffer", "-p", "-d", "-b", "floor", "-t", pane)
      tmux("send-keys", "-t", pane, "Enter")
      while (!tmux("capture-pane", "-p", "-t", pane).includes(`floor ${i}`)) await sleep(1)
      floor.push(performance.now() - started)
    }

    const latency: Array<number> = []
    for (let i = 0; i < iterations + 2; i++) {
      const started = performance.now()
      const asked = await httpJson(daemon.url, "POST", "/ask", {
        body: { from_peer: sender.body.peer_id, to_peer: "api", text: `bench question ${i}` },
        headers
      })
      const id = asked.body.correlation_id as string
      for (;;) {
        const { body } = await httpJson(daemon.url, "GET", `/asks/${id}`)
        if (body.state === "delivered") break
        await sleep(2)
      }
      if (i >= 2) latency.push(performance.now() - started)
    }
    console.log(`ask → injected into a tmux pane and confirmed (${iterations} asks)`)
    console.log(`  baseline tmux paste + capture p50 ${fmt(percentile(floor, 50))}  p99 ${fmt(percentile(floor, 99))}`)
    console.log(
      `  repowire ask → delivered      p50 ${fmt(percentile(latency, 50))}  p99 ${fmt(percentile(latency, 99))}`
    )
    console.log(`  ratio p50 ${(percentile(latency, 50) / percentile(floor, 50)).toFixed(2)}x`)
  } finally {
    killDeliveries(daemon.home)
    try {
      tmux("kill-server")
    } catch {
      // gone
    }
    await daemon.stop()
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await run()
