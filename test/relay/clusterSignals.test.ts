import { assert, describe, it } from "@effect/vitest"
import WebSocket from "ws"
import { MESH_PATH } from "../../src/protocol/MeshRelayWire.js"
import { DAEMON_ID_HEADER } from "../../src/protocol/RelayApi.js"
import { TunnelClose } from "../../src/protocol/TunnelClose.js"
import { get, steerable, until } from "./cluster.js"
import { cert, daemonFor, daemonHealth, login, tunnelsOf, withCluster } from "./clusterKit.js"

/** Settles with `undefined` after `ms`: a request into a dead link would otherwise hang for the 15 s response deadline. */
const within = <A>(ms: number, promise: Promise<A>) =>
  Promise.race([promise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))])

/** A daemon's `/mesh` socket on `base`, once open; `closed` settles with the code it was closed with. */
const meshSocketClosed = (base: string, key: string, daemonId: string) =>
  new Promise<{ readonly closed: Promise<number> }>((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}${MESH_PATH}`, {
      ca: cert.cert,
      headers: { authorization: `Bearer ${key}`, [DAEMON_ID_HEADER]: daemonId }
    })
    const closed = new Promise<number>((done) => ws.on("close", (code) => done(code)))
    ws.on("open", () => resolve({ closed }))
    ws.on("error", reject)
  })

describe("replicas hear each other at once (real processes, PostgreSQL LISTEN/NOTIFY)", () => {
  it(
    "a key revoked through replica A ends the tunnel replica B holds within a second; its sessions are refused on both",
    async () => {
      await withCluster(2, async (_pg, _db, key, [a, b]) => {
        const daemon = await daemonFor(b!.url, key)
        try {
          await until("the daemon's tunnel on B", 10_000, async () => (await tunnelsOf(b!)) === 1 || undefined)
          const onA = await login(a!.url, key)
          const onB = await login(b!.url, key)
          assert.strictEqual((await daemonHealth(a!.url, onA.cookie))?.relay?.status, "connected")
          assert.strictEqual((await daemonHealth(b!.url, onB.cookie))?.relay?.status, "connected")
          const meshOnB = await meshSocketClosed(b!.url, key, "another")
          const rotated = await get(`${a!.url}/api/rotate`, cert.cert, { authorization: `Bearer ${key}` }, "POST")
          assert.strictEqual(rotated.status, 200, rotated.body)
          const revokedAt = Date.now()
          // B's own check of revoked keys runs every 10 s; the store's signal must beat it by far.
          await until("B closes the revoked key's tunnel", 1_500, async () => (await tunnelsOf(b!)) === 0 || undefined)
          assert.isBelow(Date.now() - revokedAt, 1_500)
          // The key's /mesh sockets on B close with its tunnels.
          assert.strictEqual(await within(1_500, meshOnB.closed), TunnelClose.revoked)
          for (const [base, cookie] of [[a!.url, onA.cookie], [b!.url, onB.cookie]] as const) {
            const refused = await get(`${base}/health`, cert.cert, { cookie })
            assert.strictEqual(refused.status, 401, `${base}: ${refused.body}`)
          }
          // The daemon redials with the old key and is refused: no replica holds it again.
          await new Promise((r) => setTimeout(r, 1_000))
          assert.deepStrictEqual([await tunnelsOf(a!), await tunnelsOf(b!)], [0, 0])
        } finally {
          daemon.child.kill("SIGKILL")
        }
      })
    },
    90_000
  )

  it(
    "a daemon whose link to A went half-open redials through B: A drops its stale link at once and forwards to B",
    async () => {
      await withCluster(2, async (_pg, _db, key, [a, b]) => {
        const lb = await steerable([a!.port, b!.port])
        const daemon = await daemonFor(lb.url, key)
        try {
          await until("the daemon's tunnel on A", 10_000, async () => (await tunnelsOf(a!)) === 1 || undefined)
          const { cookie } = await login(a!.url, key)
          assert.strictEqual((await daemonHealth(a!.url, cookie))?.relay?.status, "connected")
          // The daemon's side of the connection ends; A's stays open and silent, so A still believes it.
          lb.steer(1)
          lb.sever()
          const severedAt = Date.now()
          await until("the daemon's tunnel on B", 10_000, async () => (await tunnelsOf(b!)) === 1 || undefined)
          // A's keepalive would notice only after 25 s; B's claim tells it at once.
          await until("A drops its stale link", 2_000, async () => (await tunnelsOf(a!)) === 0 || undefined)
          assert.isBelow(Date.now() - severedAt, 5_000)
          const throughA = await within(3_000, daemonHealth(a!.url, cookie))
          assert.strictEqual(throughA?.relay?.status, "connected", "a request through A reaches the daemon on B")
          assert.deepStrictEqual([await tunnelsOf(a!), await tunnelsOf(b!)], [0, 1])
        } finally {
          daemon.child.kill("SIGKILL")
          await lb.close()
        }
      })
    },
    90_000
  )
})
