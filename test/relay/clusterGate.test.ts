import { assert, describe, it } from "@effect/vitest"
import * as https from "node:https"
import * as net from "node:net"
import { get, until } from "./cluster.js"
import { cert, daemonFor, login, tunnelsOf, withCluster } from "./clusterKit.js"

const MAX_UNAUTHENTICATED = 4

/** A GET over `agent`'s connections: the browser side of the burst stays within the forwarder's own share. */
const status = (agent: https.Agent, url: string, cookie: string) =>
  new Promise<number>((resolve, reject) => {
    https.get(url, { agent, headers: { cookie } }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    }).on("error", reject)
  })

/** Raw connections that send nothing: each holds one unauthenticated place until destroyed. */
const idleConnections = (port: number, n: number) =>
  Promise.all(Array.from({ length: n }, () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(socket))
      socket.on("error", reject)
    })))

describe("the unauthenticated-connection share and replica hops (real processes, PostgreSQL)", () => {
  it(
    "a burst of new hop connections from a replica that proved the cluster secret is not refused by the holder's per-address share",
    async () => {
      await withCluster(2, async (_pg, _db, key, [holder, forwarder]) => {
        const daemon = await daemonFor(holder!.url, key)
        try {
          await until(
            "the daemon's tunnel on the holder",
            10_000,
            async () => (await tunnelsOf(holder!)) === 1 || undefined
          )
          const { cookie } = await login(forwarder!.url, key)
          // One forwarded request: the holder learns that 127.0.0.1 is a replica.
          const first = await get(`${forwarder!.url}/health`, cert.cert, { cookie })
          assert.strictEqual(first.status, 200, first.body)
          // Every place of 127.0.0.1 would now be taken by idle strangers, were it not a replica.
          const idle = await idleConnections(holder!.port, MAX_UNAUTHENTICATED)
          try {
            // As many requests in flight as the share: the forwarder's pool opens new connections to the holder.
            const agent = new https.Agent({ keepAlive: true, maxSockets: MAX_UNAUTHENTICATED, ca: cert.cert })
            const burst = await Promise.all(
              Array.from({ length: 8 * MAX_UNAUTHENTICATED }, () => status(agent, `${forwarder!.url}/health`, cookie))
            )
            agent.destroy()
            assert.deepStrictEqual(burst, burst.map(() => 200))
          } finally {
            idle.forEach((s) => s.destroy())
          }
        } finally {
          daemon.child.kill("SIGKILL")
        }
      }, ["--max-unauthenticated", String(MAX_UNAUTHENTICATED)])
    },
    90_000
  )
})
