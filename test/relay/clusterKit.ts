import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { updateConfigFile } from "../../src/layers/ConfigLive.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { tempHome } from "../support/Daemon.js"
import { type PostgresServer, startPostgres } from "../support/Postgres.js"
import { cli, spawnDaemon } from "../support/Process.js"
import { get, type Replica, spawnReplica } from "./cluster.js"
import { makeCert, tempDir } from "./harness.js"

/** What the replica tests share: one test CA, the cluster secret, and real processes started from them. */
export const cert = makeCert(tempDir("rw-cert-"))
export const SECRET = "cluster-secret-for-tests-0123456789"
const MiB = 1024 * 1024

const replicas = async (n: number, db: string, args: ReadonlyArray<string>) => {
  const home = await tempHome()
  return Promise.all(Array.from({ length: n }, () => spawnReplica(home, cert, db, SECRET, { args })))
}

/** A real daemon process whose relay link dials `url`. */
export const daemonFor = async (url: string, key: string) => {
  const home = await tempHome()
  const relay = { enabled: true, url, api_key: key, daemon_id: "laptop", e2e: "off" }
  await Effect.runPromise(
    updateConfigFile(resolvePaths({ REPOWIRE_HOME: home }), [
      { keyPath: ["relay"], value: relay },
      { keyPath: ["daemon", "attachments", "max_bytes"], value: 128 * MiB }
    ])
  )
  return { home, ...await spawnDaemon(home, { REPOWIRE_RELAY_CA_FILE: cert.certFile }) }
}

export const login = async (base: string, key: string) => {
  const reply = await get(
    `${base}/auth`,
    cert.cert,
    { "content-type": "application/x-www-form-urlencoded", origin: base },
    "POST",
    `key=${encodeURIComponent(key)}`
  )
  const setCookie = reply.headers["set-cookie"]
  return { reply, cookie: (Array.isArray(setCookie) ? setCookie[0]! : setCookie ?? "").split(";")[0]! }
}

export const tunnelsOf = async (replica: Replica) =>
  JSON.parse((await get(`${replica.url}/_relay/health`, cert.cert)).body).tunnels as number

/** The daemon's own /health through a replica, when it answers through the tunnel. */
export const daemonHealth = async (base: string, cookie: string) => {
  const reply = await get(`${base}/health`, cert.cert, { cookie })
  return reply.status === 200 ? JSON.parse(reply.body) : undefined
}

/** `n` replicas on a fresh PostgreSQL database with a key for alice; all stopped afterwards. */
export const withCluster = async (
  n: number,
  test: (pg: PostgresServer, db: string, key: string, r: Array<Replica>) => Promise<void>,
  /** More `relay serve` flags for every replica. */
  args: ReadonlyArray<string> = []
) => {
  const pg = await startPostgres()
  const running: Array<Replica> = []
  try {
    const db = await pg.createDatabase()
    const minted = cli(await tempHome(), ["relay", "keys", "create", "--user", "alice", "--database-url", db])
    assert.strictEqual(minted.code, 0, minted.stderr)
    running.push(...await replicas(n, db, args))
    await test(pg, db, minted.stdout.trim(), running)
  } finally {
    running.forEach((r) => r.child.kill("SIGKILL"))
    await pg.stop()
  }
}
