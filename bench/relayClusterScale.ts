/**
 * Relay replicas, scaling: small GETs (32 concurrent) to one real daemon spread round robin over
 * 1, 2 and 3 `relay serve` replicas, as a load balancer without sticky sessions spreads them (so
 * with n replicas, (n-1)/n of them are forwarded to the one holding the tunnel). Requests/s and
 * the CPU all the replicas and the daemon spend per request.
 */
import { round, withCluster } from "./support/Cluster.js"
import { cpuSeconds } from "./support/Processes.js"
import { median, ms, report } from "./support/Stats.js"

const CONCURRENCY = 32
const PER_ROUND = 2_000
const ROUNDS = 3

export const run = async () => {
  const rows: Array<readonly [string, string]> = []
  for (const n of [1, 2, 3]) {
    await withCluster(n, CONCURRENCY, async (cluster) => {
      const urls = cluster.replicas.map((r) => `${r.url}/health`)
      const pids = [...cluster.replicas.map((r) => r.child.pid!), cluster.daemonPid]
      const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
      await round(cluster, urls, PER_ROUND, CONCURRENCY)
      const rates: Array<number> = []
      const latencies: Array<number> = []
      const before = cpu()
      for (let i = 0; i < ROUNDS; i++) {
        const r = await round(cluster, urls, PER_ROUND, CONCURRENCY)
        rates.push(r.perSecond)
        latencies.push(...r.latencies)
      }
      const perRequest = ((cpu() - before) / (ROUNDS * PER_ROUND)) * 1e6
      rows.push([
        `${n} replica${n === 1 ? "" : "s"}`,
        `${median(rates).toFixed(0)} req/s, p50 ${ms(median(latencies))}, CPU ${
          perRequest.toFixed(0)
        } µs/request (replicas + daemon)`
      ])
    })
  }
  report(`GET /health ×${CONCURRENCY} concurrent, round robin over the replicas, ${ROUNDS} × ${PER_ROUND} each`, rows)
}
