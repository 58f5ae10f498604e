/**
 * The relay's audit log on vs off, in one run: pairs of relay processes alike but for the audit
 * log, each with a daemon's tunnel serving a small route, and small GETs at 32 concurrent through
 * each in alternating rounds (SETS fresh pairs, one after another). Every relayed GET writes a `request` record (one row: its place on
 * the global chain and on the user's).
 * The audited relay writes through its audit worker, as `relay serve` does; RELAY_AUDIT_INLINE=1
 * makes it write on its own thread instead (the CLI's writer), for comparison.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import BetterSqlite from "better-sqlite3"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigMemory } from "../src/layers/ConfigLive.js"
import { TunnelClientLive } from "../src/layers/TunnelClientLive.js"
import { TunnelClient } from "../src/services/TunnelClient.js"
import { login, smallGets, type Target, waitFor } from "./support/HttpLoad.js"
import { cpuOf, makeCert, mint, startRelayProcess } from "./support/RelayProcess.js"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rw-bench-audit-"))

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/health", HttpServerResponse.unsafeJson({ ok: true, status: "ok" })),
  Effect.catchAll(() => HttpServerResponse.json({ error: "not found" }, { status: 404 })),
  Effect.orDie
)

/** One relay process (audit on or off) with a daemon's tunnel and a signed-in browser. */
const side = async (cert: ReturnType<typeof makeCert>, name: string, audit: boolean) => {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`))
  const db = path.join(dir, "relay.db")
  const [key] = await mint(db, [`bench-${name}`])
  const relay = await startRelayProcess(cert, db, audit ? { RELAY_AUDIT_DIR: dir } : {})
  const base = `https://127.0.0.1:${relay.port}`
  const daemon = ManagedRuntime.make(
    TunnelClientLive(app, { ca: cert.ca }).pipe(Layer.provide(ConfigMemory(fs.mkdtempSync(path.join(dir, "home-")), {
      relay: { enabled: true, url: base, api_key: key, daemon_id: name, e2e: "off" }
    })))
  )
  await waitFor(
    () => daemon.runPromise(Effect.map(Effect.flatMap(TunnelClient, (c) => c.status), (s) => s.status === "connected")),
    `${name} daemon tunnel`
  )
  const cookie = await login(base, cert.ca, key!)
  const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: cert.ca })
  const target: Target = { url: base, headers: { cookie }, agent }
  const close = async () => {
    agent.destroy()
    await daemon.dispose().catch(() => undefined)
    relay.child.kill("SIGTERM")
    await new Promise((r) => relay.child.once("exit", r))
  }
  return { target, close, dir, pid: relay.child.pid! }
}

/** The relay's main thread alone (its event loop, where requests are served), not its audit worker. */
const mainThreadCpuOf = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * Fresh pairs of relays, and measured rounds of each side per pair, and requests per round. One
 * relay process can be luckier than another for its whole life (how the JIT compiled its hot
 * paths, where the kernel put its threads): with one pair, a whole run leaned 10 % either way with
 * the audit log doing nothing at all. Several pairs average that out.
 */
const SETS = 3
const ROUNDS = 10
const PER_ROUND = 2000

/** CPU ms over all measured requests of a side, as µs per request. */
const us = (ms: number) => (1000 * ms / (SETS * ROUNDS * PER_ROUND)).toFixed(0)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

type Pair = { readonly off: { p50: number; rps: number }; readonly on: { p50: number; rps: number } }

/** One fresh pair of relays: warmed alike, then ROUNDS pairs of rounds; the audited one's records counted. */
const measureSet = async (
  cert: ReturnType<typeof makeCert>,
  set: number,
  cpu: { off: number; on: number; offMain: number; onMain: number }
) => {
  const off = await side(cert, `off${set}`, false)
  const on = await side(cert, `on${set}`, true)
  const pairs: Array<Pair> = []
  try {
    // Warm both sides alike (the JIT, the pools, the audit store's first pages): with 500 requests
    // each, the first pair still found the relay measured first colder than the other.
    for (const s of [off, on, off, on]) await smallGets(s.target, PER_ROUND, 32)
    // Rounds in pairs, one of each side back to back, first one side then the other: each pair's
    // ratio compares the two under the same moment's load (the box is small, shared and noisy),
    // and the alternating order cancels what running first or second does.
    const measure = async (s: typeof off, which: "off" | "on") => {
      const c0 = cpuOf(s.pid)
      const m0 = mainThreadCpuOf(s.pid)
      const result = await smallGets(s.target, PER_ROUND, 32)
      cpu[which] += cpuOf(s.pid) - c0
      cpu[which === "off" ? "offMain" : "onMain"] += mainThreadCpuOf(s.pid) - m0
      return result
    }
    for (let i = 0; i < ROUNDS; i++) {
      if ((i + set) % 2 === 0) {
        const a = await measure(off, "off")
        pairs.push({ off: a, on: await measure(on, "on") })
      } else {
        const b = await measure(on, "on")
        pairs.push({ off: await measure(off, "off"), on: b })
      }
    }
  } finally {
    await off.close()
    await on.close()
  }
  const db = new BetterSqlite(path.join(on.dir, "relay.db"), { readonly: true })
  const written = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM audit_records").get()!.n
  db.close()
  return { pairs, written }
}

export async function run(): Promise<void> {
  const cert = makeCert()
  // The relay's own CPU per request as well: on a shared, loaded box it moves less than wall time.
  const cpu = { off: 0, on: 0, offMain: 0, onMain: 0 }
  const pairs: Array<Pair> = []
  const written: Array<number> = []
  for (let set = 0; set < SETS; set++) {
    const result = await measureSet(cert, set, cpu)
    pairs.push(...result.pairs)
    written.push(result.written)
  }
  // Every ratio reported is the median of the pairs' ratios, over all the sets.
  const offP50 = median(pairs.map((r) => r.off.p50))
  const onP50 = median(pairs.map((r) => r.on.p50))
  const offRps = median(pairs.map((r) => r.off.rps))
  const onRps = median(pairs.map((r) => r.on.rps))
  const p50Ratio = median(pairs.map((r) => r.on.p50 / r.off.p50))
  const rpsRatio = median(pairs.map((r) => r.on.rps / r.off.rps))
  console.log(
    `relay small GET x32 (${SETS} fresh pairs of relays x ${ROUNDS} pairs of rounds of ${
      PER_ROUND.toLocaleString("en")
    }, medians): audit off p50 ${offP50.toFixed(2)} ms ${offRps.toFixed(0)} req/s | audit on p50 ${
      onP50.toFixed(2)
    } ms ${onRps.toFixed(0)} req/s | p50 ratio ${p50Ratio.toFixed(2)}x (goal <= 1.1x), throughput ${
      (100 * rpsRatio).toFixed(0)
    }% (goal >= 90%)`
  )
  for (let set = 0; set < SETS; set++) {
    const own = pairs.slice(set * ROUNDS, (set + 1) * ROUNDS)
    console.log(
      `  (pair of relays ${set + 1}: p50 ratio ${
        median(own.map((r) => r.on.p50 / r.off.p50)).toFixed(2)
      }x, throughput ${
        (100 * median(own.map((r) => r.on.rps / r.off.rps))).toFixed(0)
      }%; its rounds' throughput ratios: ${own.map((r) => (100 * r.on.rps / r.off.rps).toFixed(0)).join(" ")} %)`
    )
  }
  console.log(
    `  (relay CPU per request, main thread / whole process: audit off ${us(cpu.offMain)} / ${
      us(cpu.off)
    } µs, audit on ${us(cpu.onMain)} / ${us(cpu.on)} µs)`
  )
  console.log(
    `  (the audited relays wrote ${
      written.join(", ")
    } chain records: one request record each on the global and the user's chain)`
  )
}

if (process.argv[1]?.endsWith("audit.ts")) {
  void run().then(() => process.exit(0), (e) => (console.error(e), process.exit(1)))
}
