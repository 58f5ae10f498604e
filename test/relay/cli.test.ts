import { assert, describe, it } from "@effect/vitest"
import BetterSqlite from "better-sqlite3"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { tempHome } from "../support/Daemon.js"
import { BIN, cli, spawnDaemon } from "../support/Process.js"
import { makeCert, tempDir } from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))

const health = (port: number) =>
  new Promise<any>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/health", headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on("end", () => resolve(JSON.parse(text)))
    }).on("error", reject)
  })

describe("repowire relay (CLI, real processes)", () => {
  it("keys create prints the key once; list never shows keys; revoke revokes", async () => {
    const home = await tempHome()
    const created = cli(home, ["relay", "keys", "create", "--user", "alice", "--label", "laptop"])
    assert.strictEqual(created.code, 0, created.stderr)
    const key = created.stdout.trim()
    assert.match(key, /^rw_[A-Za-z0-9_-]{43}$/)
    assert.include(created.stderr, "shown once")
    const listed = cli(home, ["relay", "keys", "list", "--json"])
    assert.strictEqual(listed.code, 0, listed.stderr)
    assert.notInclude(listed.stdout, key)
    const keys = JSON.parse(listed.stdout).keys as Array<{ key_id: string; user_id: string; revoked_at: string | null }>
    assert.deepStrictEqual(keys.map((k) => [k.user_id, k.revoked_at]), [["alice", null]])
    assert.strictEqual(fs.statSync(path.join(home, "relay", "relay.db")).mode & 0o777, 0o600)
    const revoked = cli(home, ["relay", "keys", "revoke", "alice"])
    assert.strictEqual(revoked.code, 0, revoked.stderr)
    assert.isNotNull(JSON.parse(cli(home, ["relay", "keys", "list", "--json"]).stdout).keys[0].revoked_at)
    assert.notStrictEqual(cli(home, ["relay", "keys", "revoke", "alice"]).code, 0)
  }, 60_000)

  it("serve refuses to run without TLS or a proxy", async () => {
    const result = cli(await tempHome(), ["relay", "serve", "--port", "0"])
    assert.notStrictEqual(result.code, 0)
    assert.include(result.stderr, "needs TLS")
  }, 30_000)

  it("relay serve + relay register + repowire serve: the daemon connects; SIGTERM stops the relay", async () => {
    const relayHome = await tempHome()
    const relay = spawn(process.execPath, [
      BIN,
      "relay",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--tls-cert",
      cert.certFile,
      "--tls-key",
      cert.keyFile
    ], {
      env: { ...process.env, REPOWIRE_HOME: relayHome, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ""
        relay.stderr!.on("data", (c) => {
          out += c
          const match = /listening on (https:\/\/[^\s]+)/.exec(out)
          if (match) resolve(match[1]!)
        })
        relay.on("exit", () => reject(new Error(out)))
      })
      const home = await tempHome()
      const agentHome = await tempHome()
      const setupEnv = { HOME: agentHome, PATH: "" }
      const registered = cli(home, ["setup", "--relay", url, "--relay-ca", cert.certFile, "--yes"], setupEnv)
      assert.strictEqual(registered.code, 0, registered.stderr)
      assert.match(registered.stdout, /relay: registered at/)
      assert.include(fs.readFileSync(path.join(home, "config.yaml"), "utf8"), "api_key: rw_")
      const daemon = await spawnDaemon(home, { REPOWIRE_RELAY_CA_FILE: cert.certFile })
      try {
        const deadline = Date.now() + 10_000
        let status = ""
        while (Date.now() < deadline && status !== "connected") {
          status = (await health(daemon.port)).relay.status
          await new Promise((r) => setTimeout(r, 50))
        }
        assert.strictEqual(status, "connected")
        const stopping = Date.now()
        relay.kill("SIGTERM")
        await new Promise((r) => relay.once("exit", r))
        assert.isBelow(Date.now() - stopping, 5000)
        // The bundle's audit worker wrote the events, and the clean stop wrote and signed the rest.
        const store = new BetterSqlite(path.join(relayHome, "relay", "relay.db"), { readonly: true })
        const kinds = store.prepare<[], { kind: string }>("SELECT kind FROM audit_records WHERE chain = 'global'")
          .all().map((r) => r.kind)
        const head = store.prepare<[], { seq: number; checkpoint_seq: number }>(
          "SELECT seq, checkpoint_seq FROM audit_chains WHERE chain = 'global'"
        ).get()
        store.close()
        assert.includeMembers(kinds, ["registration", "key_minted", "auth_ok", "tunnel_connected"])
        assert.deepStrictEqual(head, { seq: kinds.length, checkpoint_seq: kinds.length })
        await new Promise((r) => setTimeout(r, 300))
        assert.notStrictEqual((await health(daemon.port)).relay.status, "connected")
      } finally {
        daemon.child.kill("SIGKILL")
      }
      const removed = cli(home, ["uninstall", "--yes"], setupEnv)
      assert.strictEqual(removed.code, 0, removed.stderr)
      assert.notInclude(fs.readFileSync(path.join(home, "config.yaml"), "utf8"), "rw_")
    } finally {
      relay.kill("SIGKILL")
    }
  }, 60_000)
})
