import { assert, describe, it } from "@effect/vitest"
import BetterSqlite from "better-sqlite3"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as YAML from "yaml"
import { decodeConfigValues } from "../../src/layers/ConfigLive.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { adoptUpstreamConfig } from "../../src/protocol/UpstreamConfig.js"
import { cli, spawnDaemon } from "../support/Process.js"

const fixture = fs.readFileSync(path.join(__dirname, "fixtures", "upstream-config.yaml"), "utf8")

const tempHome = () => fs.mkdtempSync(path.join(os.tmpdir(), "rw-upstream-cfg-"))

const withUpstreamConfig = (text = fixture) => {
  const home = tempHome()
  fs.writeFileSync(path.join(home, "config.yaml"), text, { mode: 0o600 })
  return home
}

/** A state.db as upstream's daemon leaves it (its own schema_migrations, legacy_imports, schedules). */
const upstreamStateDb = (home: string) => {
  const db = new BetterSqlite(path.join(home, "state.db"))
  db.pragma("journal_mode = WAL")
  db.exec(
    `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT NOT NULL);
    CREATE TABLE legacy_imports (source_path TEXT PRIMARY KEY, source_mtime REAL, source_size INTEGER, imported_at TEXT NOT NULL,
      row_count INTEGER NOT NULL, status TEXT NOT NULL, error TEXT);
    CREATE TABLE schedules (schedule_id TEXT PRIMARY KEY, from_peer TEXT NOT NULL, to_peer TEXT NOT NULL, text TEXT NOT NULL,
      kind TEXT NOT NULL, fire_at TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00Z', 'initial daemon state schema with schedules');
    CREATE TABLE peers (peer_id TEXT PRIMARY KEY, name TEXT);`
  )
  db.close()
}

describe("upstream repowire's config.yaml", () => {
  it("reads the keys that mean the same thing and reports the rest", () => {
    const adopted = adoptUpstreamConfig(YAML.parse(fixture))
    assert.includeMembers([...adopted.ignored], [
      "peers",
      "telegram",
      "slack",
      "updates",
      "experiments",
      "skills",
      "daemon.spawn.allowed_commands",
      "daemon.spawn.profiles",
      "daemon.mcp_http.bind",
      "logging.file",
      "daemon.auto_reconnect"
    ])
    assert.includeMembers([...adopted.renamed], ["daemon.delivery_queue_ttl_seconds → daemon.delivery_queue.ttl"])
    const home = withUpstreamConfig()
    const values = Effect.runSync(decodeConfigValues(resolvePaths({ REPOWIRE_HOME: home }), YAML.parse(fixture), {}))
    assert.strictEqual(values.daemon.port, 8377)
    assert.strictEqual(values.daemon.delivery_queue.ttl, 86400)
    assert.strictEqual(values.daemon.delivery_queue.max_per_peer, 100)
    assert.strictEqual(values.daemon.peers.forget_after, 600)
    assert.strictEqual(values.relay.url, "wss://repowire.io")
  })

  it("honours upstream's flat variables: REPOWIRE_AUTH_TOKEN, REPOWIRE_RELAY_URL, REPOWIRE_API_KEY", () => {
    const paths = resolvePaths({ REPOWIRE_HOME: tempHome() })
    const key = `rw_${"k".repeat(43)}`
    const values = Effect.runSync(decodeConfigValues(paths, {}, {
      REPOWIRE_AUTH_TOKEN: "t".repeat(32),
      REPOWIRE_RELAY_URL: "wss://relay.example.com",
      REPOWIRE_API_KEY: key
    }))
    assert.strictEqual(values.daemon.auth_token, "t".repeat(32))
    assert.deepStrictEqual([values.relay.url, values.relay.api_key, values.relay.enabled], [
      "wss://relay.example.com",
      key,
      true
    ])
  })

  it("stays strict on our keys' types, and on unknown keys in a file of ours", () => {
    const bad = cli(withUpstreamConfig(fixture.replace("port: 8377", "port: eighty")), ["config", "show"])
    assert.notStrictEqual(bad.code, 0)
    assert.include(bad.stderr, "port")
    const ours = cli(withUpstreamConfig("daemon:\n  prot: 1\n"), ["config", "show"])
    assert.notStrictEqual(ours.code, 0)
    assert.include(ours.stderr, "prot")
  })

  it(
    "the daemon starts on upstream's config and state.db: one warning line each, the old database moved aside",
    async () => {
      const home = withUpstreamConfig()
      upstreamStateDb(home)
      const daemon = await spawnDaemon(home)
      try {
        const health = await fetch(`${daemon.url}/health`).then((r) => r.json() as Promise<{ ok: boolean }>)
        assert.isTrue(health.ok)
        const moved = fs.readdirSync(home).filter((n) => n.startsWith("state.db.upstream-") && !/-(wal|shm)$/.test(n))
        assert.strictEqual(moved.length, 1)
        const old = new BetterSqlite(path.join(home, moved[0]!), { readonly: true })
        assert.strictEqual((old.prepare("SELECT count(*) AS n FROM schema_migrations").get() as { n: number }).n, 1)
        old.close()
        const lines = daemon.output().split("\n")
        assert.strictEqual(
          lines.filter((l) => l.includes("is upstream repowire's (another schema): moved aside")).length,
          1,
          daemon.output()
        )
        const configLine = lines.filter((l) => l.includes("config.yaml is upstream repowire's"))
        assert.strictEqual(configLine.length, 1, daemon.output())
        assert.include(configLine[0], "ignored daemon.auto_reconnect")
        assert.include(configLine[0], "peers")
      } finally {
        daemon.child.kill("SIGTERM")
        await new Promise((r) => daemon.child.once("exit", r))
      }
      const again = await spawnDaemon(home)
      again.child.kill("SIGTERM")
      await new Promise((r) => again.child.once("exit", r))
      assert.strictEqual(
        fs.readdirSync(home).filter((n) => /^state\.db\.upstream-[^]*\d+Z$/.test(n)).length,
        1,
        "ours is kept"
      )
    },
    60_000
  )
})
