/**
 * Relay replicas: small GETs (32 concurrent) to a real daemon through the replica holding its
 * tunnel vs through a replica that forwards them there over the internal hop, in one run, in
 * alternating rounds; and the CPU each replica spends per request (from /proc, so the figure
 * does not move with the machine's load the way latency does). Two `relay serve` replicas, a
 * throwaway PostgreSQL and the daemon are real processes (the test suite's helpers start them).
 */
import { round, withCluster } from "./support/Cluster.js"
import { cpuSeconds } from "./support/Processes.js"
import { median, ms, percentile, ratio, report } from "./support/Stats.js"

const CONCURRENCY = 32
const PER_ROUND = 2_000
const ROUNDS = 3

export const run = () =>
  withCluster(2, CONCURRENCY, async (cluster) => {
    const [holder, forwarder] = cluster.replicas
    const pids = { holder: holder!.child.pid!, forwarder: forwarder!.child.pid! }
    /** A round with the CPU seconds each replica and the daemon spent on it. */
    const measured = async (url: string) => {
      const before = { h: cpuSeconds(pids.holder), f: cpuSeconds(pids.forwarder), d: cpuSeconds(cluster.daemonPid) }
      const result = await round(cluster, [url], PER_ROUND, CONCURRENCY)
      const cpu = {
        holder: cpuSeconds(pids.holder) - before.h,
        forwarder: cpuSeconds(pids.forwarder) - before.f,
        daemon: cpuSeconds(cluster.daemonPid) - before.d
      }
      return { ...result, cpu }
    }
    // Warm both paths (TLS sessions, JIT) before measuring.
    await round(cluster, [`${holder!.url}/health`], PER_ROUND, CONCURRENCY)
    await round(cluster, [`${forwarder!.url}/health`], PER_ROUND, CONCURRENCY)
    const empty = () => ({
      latencies: [] as Array<number>,
      rates: [] as Array<number>,
      holder: 0,
      forwarder: 0,
      daemon: 0
    })
    const direct = empty()
    const hopped = empty()
    for (let i = 0; i < ROUNDS; i++) {
      for (const [into, url] of [[direct, holder!.url], [hopped, forwarder!.url]] as const) {
        const r = await measured(`${url}/health`)
        into.latencies.push(...r.latencies)
        into.rates.push(r.perSecond)
        into.holder += r.cpu.holder
        into.forwarder += r.cpu.forwarder
        into.daemon += r.cpu.daemon
      }
    }
    const perRequest = (seconds: number) => `${((seconds / (ROUNDS * PER_ROUND)) * 1e6).toFixed(0)} µs`
    report(`GET /health ×${CONCURRENCY} concurrent, ${ROUNDS} × ${PER_ROUND} each way (2 replicas, 1 daemon)`, [
      ["through the holder p50 / p99", `${ms(median(direct.latencies))} / ${ms(percentile(direct.latencies, 99))}`],
      [
        "through a forwarding replica p50 / p99",
        `${ms(median(hopped.latencies))} / ${ms(percentile(hopped.latencies, 99))}`
      ],
      ["p50 ratio (forwarded / holder)", ratio(median(hopped.latencies), median(direct.latencies))],
      [
        "throughput holder / forwarded",
        `${median(direct.rates).toFixed(0)} / ${median(hopped.rates).toFixed(0)} req/s`
      ],
      [
        "throughput ratio (forwarded / holder)",
        `${((median(hopped.rates) / median(direct.rates)) * 100).toFixed(0)} %`
      ],
      ["CPU per request, direct: holder / daemon", `${perRequest(direct.holder)} / ${perRequest(direct.daemon)}`],
      [
        "CPU per request, forwarded: forwarder / holder / daemon",
        `${perRequest(hopped.forwarder)} / ${perRequest(hopped.holder)} / ${perRequest(hopped.daemon)}`
      ],
      ["relay CPU, forwarded (both replicas) / direct", ratio(hopped.forwarder + hopped.holder, direct.holder)]
    ])
  })
