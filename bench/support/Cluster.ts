/**
 * What the replica benches share: a throwaway PostgreSQL, `relay serve` replicas on it, a real
 * daemon whose tunnel one of them holds, a signed-in session, and rounds of small GETs.
 */
import { Effect } from "effect"
import * as https from "node:https"
import { updateConfigFile } from "../../src/layers/ConfigLive.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { type Replica, spawnReplica } from "../../test/relay/cluster.js"
import { makeCert, tempDir } from "../../test/relay/harness.js"
import { tempHome } from "../../test/support/Daemon.js"
import { startPostgres } from "../../test/support/Postgres.js"
import { cli, spawnDaemon } from "../../test/support/Process.js"
import { sleep } from "./Stats.js"

export interface Cluster {
  /** The replica the daemon's tunnel is on first. */
  readonly replicas: ReadonlyArray<Replica>
  readonly daemonPid: number
  readonly cookie: string
  readonly agent: https.Agent
}

const get = (agent: https.Agent, url: string, cookie: string) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now()
    https.get(url, { agent, headers: { cookie } }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on(
        "end",
        () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`${url}: ${res.statusCode} ${body}`))
      )
    }).on("error", reject)
  })

/** `total` GETs with `concurrency` in flight, the i-th to `urls[i % urls.length]`: latencies and requests/s. */
export const round = async (
  cluster: Cluster,
  urls: ReadonlyArray<string>,
  total: number,
  concurrency: number
) => {
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < total; i = next++) {
      latencies.push(await get(cluster.agent, urls[i % urls.length]!, cluster.cookie))
    }
  }))
  return { latencies, perSecond: total / ((performance.now() - started) / 1000) }
}

const signIn = async (agent: https.Agent, base: string, key: string) => {
  for (let i = 0; i < 100; i++) {
    await sleep(100)
    const cookie = await new Promise<string>((resolve) => {
      const req = https.request(`${base}/auth`, {
        method: "POST",
        agent,
        headers: { "content-type": "application/x-www-form-urlencoded", origin: base }
      }, (res) => {
        res.resume()
        const set = res.headers["set-cookie"]?.[0]
        resolve(res.statusCode === 303 && set !== undefined ? set.split(";")[0]! : "")
      })
      req.on("error", () => resolve(""))
      req.end(`key=${encodeURIComponent(key)}`)
    })
    if (cookie !== "") return cookie
  }
  throw new Error("could not sign in: the daemon never connected")
}

/**
 * `n` replicas on a fresh PostgreSQL and a daemon connected to the first; `use` runs with them,
 * then everything is stopped. With RELAY_CLUSTER_PROFILE=dir the replicas write CPU profiles
 * there (they are stopped with SIGTERM so the profiles get written).
 */
export const withCluster = async (n: number, concurrency: number, use: (cluster: Cluster) => Promise<void>) => {
  const cert = makeCert(tempDir("rw-bench-cluster-"))
  const pg = await startPostgres()
  const profileDir = process.env.RELAY_CLUSTER_PROFILE
  const nodeArgs = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
  // Here the bench client and the replicas' hops all come from 127.0.0.1, which the per-address
  // gate counts as one client until each connection's first request; deployed, browsers come
  // through the balancer (counted per request) and hops from each replica's own address.
  const args = ["--max-unauthenticated", "1024"]
  const stops: Array<() => Promise<void> | void> = []
  try {
    const db = await pg.createDatabase()
    const key = cli(await tempHome(), ["relay", "keys", "create", "--user", "bench", "--database-url", db]).stdout
      .trim()
    const relayHome = await tempHome()
    const replicas = await Promise.all(
      Array.from(
        { length: n },
        () => spawnReplica(relayHome, cert, db, "bench-cluster-secret-0123456789", { nodeArgs, args })
      )
    )
    for (const r of replicas) {
      stops.push(() =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null) return resolve()
          r.child.once("exit", () => resolve())
          r.child.kill(profileDir === undefined ? "SIGKILL" : "SIGTERM")
        })
      )
    }
    const home = await tempHome()
    const relay = { enabled: true, url: replicas[0]!.url, api_key: key, daemon_id: "bench", e2e: "off" }
    await Effect.runPromise(updateConfigFile(resolvePaths({ REPOWIRE_HOME: home }), [
      { keyPath: ["relay"], value: relay },
      { keyPath: ["logging", "level"], value: "error" }
    ]))
    const daemon = await spawnDaemon(home, { REPOWIRE_RELAY_CA_FILE: cert.certFile })
    stops.unshift(() => void daemon.child.kill("SIGKILL"))
    // Idle sockets dropped at 4 s, before a replica closes them at 5 s: a round slower than that
    // on one replica would otherwise reuse a socket the other is closing ("socket hang up").
    const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, timeout: 4_000, ca: cert.cert })
    stops.unshift(() => agent.destroy())
    // Signed in through the last replica: with several, one that does not hold the tunnel.
    const cookie = await signIn(agent, replicas[replicas.length - 1]!.url, key)
    await use({ replicas, daemonPid: daemon.child.pid!, cookie, agent })
  } finally {
    for (const stop of stops) await stop()
    await pg.stop()
  }
}
