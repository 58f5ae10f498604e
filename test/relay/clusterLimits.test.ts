import { assert, describe, it } from "@effect/vitest"
import { tempHome } from "../support/Daemon.js"
import { startPostgres } from "../support/Postgres.js"
import { get, spawnReplica } from "./cluster.js"
import { makeCert, tempDir } from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))

const tryKey = (base: string) =>
  get(
    `${base}/auth`,
    cert.cert,
    { "content-type": "application/x-www-form-urlencoded", origin: base },
    "POST",
    `key=rw_${"x".repeat(43)}`
  )

describe("relay replicas share their rate limits (real processes, one PostgreSQL)", () => {
  it("/auth tries spread over two replicas count against one limit of 10 a minute", async () => {
    const pg = await startPostgres()
    const home = await tempHome()
    const replicas = [] as Array<Awaited<ReturnType<typeof spawnReplica>>>
    try {
      const db = await pg.createDatabase()
      replicas.push(
        ...await Promise.all([0, 1].map(() => spawnReplica(home, cert, db, "limits-cluster-secret-0123456789")))
      )
      const [a, b] = replicas
      // Five wrong keys on each: each replica alone would still allow five more.
      for (let i = 0; i < 5; i++) {
        assert.strictEqual((await tryKey(a!.url)).status, 401)
        assert.strictEqual((await tryKey(b!.url)).status, 401)
      }
      for (const replica of [a!, b!]) {
        const limited = await tryKey(replica.url)
        assert.strictEqual(limited.status, 429, limited.body)
        assert.match(String(limited.headers["retry-after"]), /^\d+$/)
      }
    } finally {
      replicas.forEach((r) => r.child.kill("SIGKILL"))
      await pg.stop()
    }
  }, 60_000)
})
