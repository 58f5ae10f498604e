import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as https from "node:https"
import { HOP_HEADER, signHop } from "../../src/layers/tunnel/relay/HopAuth.js"
import { asHuman, register } from "../support/Http.js"
import { get, roundRobin, sseUntil, until, wsUntil } from "./cluster.js"
import { cert, daemonFor, daemonHealth, login, SECRET, tunnelsOf, withCluster } from "./clusterKit.js"

const MiB = 1024 * 1024

/** A process's resident memory, from /proc. */
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024

/** Streams a download to nowhere, counting bytes, while `sample` runs every 50 ms. */
const download = (url: string, cookie: string, sample: () => void) =>
  new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const timer = setInterval(sample, 50)
    https.get(url, { headers: { cookie }, ca: cert.cert, agent: false }, (res) => {
      let bytes = 0
      res.on("data", (c: Buffer) => (bytes += c.length))
      res.on("end", () => (clearInterval(timer), resolve({ status: res.statusCode ?? 0, bytes })))
      res.on("error", (e) => (clearInterval(timer), reject(e)))
    }).on("error", (e) => (clearInterval(timer), reject(e)))
  })

describe("relay on several replicas (real processes, one PostgreSQL)", () => {
  it(
    "two replicas: a session made on one is used on the other; plain, SSE and WebSocket reach the tunnel the other holds",
    async () => {
      await withCluster(2, async (_pg, _db, key, [a, b]) => {
        const daemon = await daemonFor(a!.url, key)
        try {
          await until("the daemon's tunnel on A", 10_000, async () => (await tunnelsOf(a!)) === 1 || undefined)
          assert.strictEqual(await tunnelsOf(b!), 0)
          // Signed in on B, which does not hold the tunnel: it knows the daemon is connected (the directory).
          const { cookie, reply } = await login(b!.url, key)
          assert.strictEqual(reply.status, 303, reply.body)
          assert.strictEqual(reply.headers.location, "/dashboard")
          // Plain: through B, forwarded to A, answered by the daemon as tunnelled.
          const health = await daemonHealth(b!.url, cookie)
          assert.strictEqual(health?.relay?.status, "connected")
          // The same session on A, where the tunnel is local.
          assert.strictEqual((await daemonHealth(a!.url, cookie))?.relay?.status, "connected")
          // A body through the hop, and the events it makes seen on B by SSE and by WebSocket.
          const agent = await register(
            daemon.url,
            { name: "hop-agent", backend: "cli", path: "/tmp/x" },
            asHuman(daemon.home)
          )
          const live = sseUntil(
            `${b!.url}/events/stream?since=0`,
            cert.cert,
            cookie,
            (t) => t.includes("through the hop")
          )
          const sent = await get(
            `${b!.url}/notify`,
            cert.cert,
            {
              cookie,
              origin: b!.url,
              "content-type": "application/json"
            },
            "POST",
            JSON.stringify({ from_peer: "dashboard", to_peer: agent.peer_id, text: "through the hop" })
          )
          assert.strictEqual(sent.status, 200, sent.body)
          assert.include(await live, "hop-agent")
          assert.include(await wsUntil(b!.url, cert.cert, cookie, (t) => t.includes("through the hop")), "hop-agent")
          // No session, no hop: B still asks for a sign-in.
          assert.strictEqual((await get(`${b!.url}/peers`, cert.cert)).status, 401)
        } finally {
          daemon.child.kill("SIGKILL")
        }
      })
    },
    90_000
  )

  it(
    "a 100 MiB download through the replica without the tunnel streams, with bounded memory on both replicas",
    async () => {
      await withCluster(2, async (_pg, _db, key, [a, b]) => {
        const daemon = await daemonFor(a!.url, key)
        try {
          await until("the daemon's tunnel on A", 10_000, async () => (await tunnelsOf(a!)) === 1 || undefined)
          const form = new FormData()
          form.append(
            "file",
            new Blob([new Uint8Array(100 * MiB).fill(97)], { type: "application/octet-stream" }),
            "big.bin"
          )
          const uploaded = await fetch(`${daemon.url}/attachments`, {
            method: "POST",
            body: form,
            headers: asHuman(daemon.home)
          })
          assert.strictEqual(uploaded.status, 201, await uploaded.clone().text())
          const id = ((await uploaded.json()) as { attachments: Array<{ id: string }> }).attachments[0]!.id
          const { cookie } = await login(b!.url, key)
          const base = { a: rssOf(a!.child.pid!), b: rssOf(b!.child.pid!) }
          const peak = { ...base }
          const sample = () => {
            peak.a = Math.max(peak.a, rssOf(a!.child.pid!))
            peak.b = Math.max(peak.b, rssOf(b!.child.pid!))
          }
          const result = await download(`${b!.url}/attachments/${id}`, cookie, sample)
          assert.strictEqual(result.status, 200)
          assert.strictEqual(result.bytes, 100 * MiB)
          for (const r of ["a", "b"] as const) {
            const growth = peak[r] - base[r]
            assert.isBelow(growth, 48 * MiB, `replica ${r} grew by ${Math.round(growth / MiB)} MiB`)
          }
        } finally {
          daemon.child.kill("SIGKILL")
        }
      })
    },
    120_000
  )

  it(
    "the internal endpoint refuses a request without the secret, with a wrong one, or stale; the right one reaches the tunnel",
    async () => {
      await withCluster(2, async (_pg, _db, key, [a]) => {
        const daemon = await daemonFor(a!.url, key)
        try {
          await until("the daemon's tunnel on A", 10_000, async () => (await tunnelsOf(a!)) === 1 || undefined)
          const target = { userId: "alice", daemonId: "laptop" }
          const hop = (secret: string, now?: number) => ({
            [HOP_HEADER]: signHop(secret, "GET", "/health", target, now)
          })
          const refused = [
            await get(`${a!.url}/_relay/hop/health`, cert.cert),
            await get(`${a!.url}/_relay/hop/health`, cert.cert, hop("not-the-cluster-secret-at-all")),
            await get(`${a!.url}/_relay/hop/health`, cert.cert, hop(SECRET, Date.now() - 60_000)),
            await get(`${a!.url}/_relay/hop/peers`, cert.cert, hop(SECRET))
          ]
          for (const r of refused) {
            assert.strictEqual(r.status, 401, r.body)
            assert.strictEqual(JSON.parse(r.body).error.code, "unauthorized")
          }
          const signed = await get(`${a!.url}/_relay/hop/health`, cert.cert, hop(SECRET))
          assert.strictEqual(signed.status, 200, signed.body)
          assert.strictEqual(JSON.parse(signed.body).relay.status, "connected")
          // Not a tunnelled path, even signed.
          const mcp = { [HOP_HEADER]: signHop(SECRET, "POST", "/mcp", target) }
          assert.strictEqual((await get(`${a!.url}/_relay/hop/mcp`, cert.cert, mcp, "POST", "{}")).status, 404)
        } finally {
          daemon.child.kill("SIGKILL")
        }
      })
    },
    90_000
  )

  it(
    "three replicas behind a balancer: one SIGKILLed, the daemon is reachable through another within 10 s, the session still works",
    async () => {
      await withCluster(3, async (_pg, _db, key, all) => {
        const lb = await roundRobin(all.map((r) => r.port))
        const daemon = await daemonFor(lb.url, key)
        try {
          const holder = await until("the daemon's tunnel", 10_000, async () => {
            const counts = await Promise.all(all.map(tunnelsOf))
            return all.find((_, i) => counts[i] === 1)
          })
          const others = all.filter((r) => r !== holder)
          const { cookie } = await login(others[0]!.url, key)
          assert.strictEqual((await daemonHealth(others[1]!.url, cookie))?.relay?.status, "connected")
          const killed = Date.now()
          holder.child.kill("SIGKILL")
          await until("the daemon through a survivor", 10_000, async () => {
            const answers = await Promise.all(others.map((r) => daemonHealth(r.url, cookie)))
            return answers.every((h) => h?.relay?.status === "connected") || undefined
          })
          assert.isBelow(Date.now() - killed, 10_000)
        } finally {
          daemon.child.kill("SIGKILL")
          await lb.close()
        }
      })
    },
    90_000
  )

  it(
    "a replica stopped with SIGTERM sends GOAWAY: the daemon is back through the other at once",
    async () => {
      await withCluster(2, async (_pg, _db, key, all) => {
        const lb = await roundRobin(all.map((r) => r.port))
        const daemon = await daemonFor(lb.url, key)
        try {
          const holder = await until("the daemon's tunnel", 10_000, async () => {
            const counts = await Promise.all(all.map(tunnelsOf))
            return all.find((_, i) => counts[i] === 1)
          })
          const other = all.find((r) => r !== holder)!
          const { cookie } = await login(other.url, key)
          assert.strictEqual((await daemonHealth(other.url, cookie))?.relay?.status, "connected")
          const stopping = Date.now()
          holder.child.kill("SIGTERM")
          await new Promise((r) => holder.child.once("exit", r))
          await until("the daemon on the other replica", 5_000, async () => (await tunnelsOf(other)) === 1 || undefined)
          assert.strictEqual((await daemonHealth(other.url, cookie))?.relay?.status, "connected")
          // GOAWAY makes the daemon redial at once, well inside the 6 s lease (directory.test.ts checks a clean stop deletes the rows).
          assert.isBelow(Date.now() - stopping, 5_000)
        } finally {
          daemon.child.kill("SIGKILL")
          await lb.close()
        }
      })
    },
    90_000
  )
})
