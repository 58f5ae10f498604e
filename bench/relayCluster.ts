/**
 * Relay replicas: small GETs (32 concurrent) to a real daemon through the replica holding its
 * tunnel vs through a replica that forwards them there over the internal hop, in one run, in
 * alternating rounds. Two `relay serve` replicas, a throwaway PostgreSQL and the daemon are real
 * processes (the test suite's helpers start them).
 */
import { Effect } from "effect"
import * as https from "node:https"
import { updateConfigFile } from "../src/layers/ConfigLive.js"
import { resolvePaths } from "../src/protocol/HomeFiles.js"
import { spawnReplica } from "../test/relay/cluster.js"
import { makeCert, tempDir } from "../test/relay/harness.js"
import { tempHome } from "../test/support/Daemon.js"
import { startPostgres } from "../test/support/Postgres.js"
import { cli, spawnDaemon } from "../test/support/Process.js"
import { median, ms, percentile, ratio, report, sleep } from "./support/Stats.js"

const CONCURRENCY = 32
const PER_ROUND = 2_000
const ROUNDS = 3

const get = (agent: https.Agent, url: string, cookie: string) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now()
    https.get(url, { agent, headers: { cookie } }, (res) => {
      res.resume()
      res.on(
        "end",
        () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${res.statusCode}`)))
      )
    }).on("error", reject)
  })

/** PER_ROUND GETs with CONCURRENCY in flight: latencies and requests per second. */
const round = async (agent: https.Agent, url: string, cookie: string) => {
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < PER_ROUND) latencies.push(await get(agent, url, cookie))
  }))
  return { latencies, perSecond: PER_ROUND / ((performance.now() - started) / 1000) }
}

export const run = async () => {
  const cert = makeCert(tempDir("rw-bench-cluster-"))
  const pg = await startPostgres()
  const stops: Array<() => void> = []
  try {
    const db = await pg.createDatabase()
    const key = cli(await tempHome(), ["relay", "keys", "create", "--user", "bench", "--database-url", db]).stdout
      .trim()
    const relayHome = await tempHome()
    const [holder, forwarder] = await Promise.all(
      [0, 1].map(() => spawnReplica(relayHome, cert, db, "bench-cluster-secret-0123456789"))
    )
    stops.push(() => holder!.child.kill("SIGKILL"), () => forwarder!.child.kill("SIGKILL"))
    const home = await tempHome()
    const relay = { enabled: true, url: holder!.url, api_key: key, daemon_id: "bench", e2e: "off" }
    await Effect.runPromise(updateConfigFile(resolvePaths({ REPOWIRE_HOME: home }), [
      { keyPath: ["relay"], value: relay },
      { keyPath: ["logging", "level"], value: "error" }
    ]))
    const daemon = await spawnDaemon(home, { REPOWIRE_RELAY_CA_FILE: cert.certFile })
    stops.push(() => daemon.child.kill("SIGKILL"))
    const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: cert.cert })
    let cookie = ""
    for (let i = 0; i < 100 && cookie === ""; i++) {
      await sleep(100)
      const reply = await new Promise<string>((resolve) => {
        const req = https.request(`${forwarder!.url}/auth`, {
          method: "POST",
          agent,
          headers: { "content-type": "application/x-www-form-urlencoded", origin: forwarder!.url }
        }, (res) => {
          res.resume()
          const set = res.headers["set-cookie"]?.[0]
          resolve(res.statusCode === 303 && set !== undefined ? set.split(";")[0]! : "")
        })
        req.on("error", () => resolve(""))
        req.end(`key=${encodeURIComponent(key)}`)
      })
      cookie = reply
    }
    if (cookie === "") throw new Error("could not sign in: the daemon never connected")
    // Warm both paths (TLS sessions, JIT) before measuring.
    await round(agent, `${holder!.url}/health`, cookie)
    await round(agent, `${forwarder!.url}/health`, cookie)
    const direct = { latencies: [] as Array<number>, rates: [] as Array<number> }
    const hopped = { latencies: [] as Array<number>, rates: [] as Array<number> }
    for (let i = 0; i < ROUNDS; i++) {
      const d = await round(agent, `${holder!.url}/health`, cookie)
      direct.latencies.push(...d.latencies)
      direct.rates.push(d.perSecond)
      const h = await round(agent, `${forwarder!.url}/health`, cookie)
      hopped.latencies.push(...h.latencies)
      hopped.rates.push(h.perSecond)
    }
    const rate = (xs: Array<number>) => median(xs)
    report(`GET /health ×${CONCURRENCY} concurrent, ${ROUNDS} × ${PER_ROUND} each way (2 replicas, 1 daemon)`, [
      ["through the holder p50 / p99", `${ms(median(direct.latencies))} / ${ms(percentile(direct.latencies, 99))}`],
      [
        "through a forwarding replica p50 / p99",
        `${ms(median(hopped.latencies))} / ${ms(percentile(hopped.latencies, 99))}`
      ],
      ["p50 ratio (forwarded / holder)", ratio(median(hopped.latencies), median(direct.latencies))],
      ["throughput holder / forwarded", `${rate(direct.rates).toFixed(0)} / ${rate(hopped.rates).toFixed(0)} req/s`],
      ["throughput ratio (forwarded / holder)", `${((rate(hopped.rates) / rate(direct.rates)) * 100).toFixed(0)} %`]
    ])
    agent.destroy()
  } finally {
    stops.forEach((stop) => stop())
    await pg.stop()
  }
}
