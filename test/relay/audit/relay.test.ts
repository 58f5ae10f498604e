import { assert, describe, it } from "@effect/vitest"
import BetterSqlite from "better-sqlite3"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import WebSocket from "ws"
import type { AuditRecord } from "../../../src/protocol/Audit.js"
import { Audit } from "../../../src/services/Audit.js"
import { tempHome } from "../../support/Daemon.js"
import { BIN, cli, type CliResult } from "../../support/Process.js"
import { login, mintKey, request, tempDir } from "../harness.js"
import { cert, daemon, kinds, readAudit, register, waitFor, withRelay } from "./auditRelay.js"

/** A daemon's home whose config.yaml points `repowire relay audit` at this relay with this key. */
const daemonHome = async (url: string, key: string) => {
  const home = await tempHome()
  fs.writeFileSync(path.join(home, "config.yaml"), `relay:\n  enabled: true\n  url: ${url}\n  api_key: ${key}\n`, {
    mode: 0o600
  })
  return home
}

/** `repowire relay audit` on the daemon's machine; asynchronous, since the relay it asks runs in this process. */
const auditCli = (home: string, args: ReadonlyArray<string>) =>
  Effect.async<CliResult>((resume) => {
    const child = spawn(process.execPath, [BIN, "relay", "audit", ...args], {
      env: { ...process.env, REPOWIRE_HOME: home, NO_COLOR: "1", REPOWIRE_RELAY_CA_FILE: cert.certFile },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c) => (stdout += c))
    child.stderr.on("data", (c) => (stderr += c))
    child.on("close", (code) => resume(Effect.succeed({ code: code ?? -1, stdout, stderr })))
  })

const everyFileBytes = (dir: string) =>
  Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))))

describe("relay audit log (real relay, real SQLite)", () => {
  it.live(
    "records each kind of event, a user reads only their own chain, and no key or cookie is stored",
    () =>
      Effect.gen(function*() {
        const dataDir = tempDir("rw-audit-relay-")
        const secrets: Array<string> = []
        yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            const alice = yield* register(relay.url)
            const bobKey = yield* mintKey("bob")
            secrets.push(alice.api_key, bobKey)
            yield* daemon("A", relay.url, alice.api_key, "laptop")
            yield* daemon("B", relay.url, bobKey, "desk")
            const bad = yield* login(relay.url, cert.cert, `rw_${"x".repeat(43)}`)
            assert.strictEqual(bad.reply.status, 401)
            const session = yield* login(relay.url, cert.cert, alice.api_key)
            secrets.push(session.cookie.split("=")[1]!)
            const peers = yield* request(`${relay.url}/peers?secret=query`, cert.cert, {
              headers: { cookie: session.cookie }
            })
            assert.strictEqual(peers.status, 200)
            const ws = new WebSocket(`${relay.url.replace("https", "wss")}/events/ws`, {
              headers: { cookie: session.cookie, origin: relay.url },
              ca: cert.cert
            })
            yield* Effect.async<void>((resume) => void ws.once("message", () => resume(Effect.void)))
            ws.close()
            const out = yield* request(`${relay.url}/logout`, cert.cert, {
              method: "POST",
              headers: { cookie: session.cookie, origin: relay.url }
            })
            assert.strictEqual(out.status, 303)
            const rotated = yield* request(`${relay.url}/api/rotate`, cert.cert, {
              method: "POST",
              headers: { authorization: `Bearer ${alice.api_key}` }
            })
            assert.strictEqual(rotated.status, 200)
            const newKey = (JSON.parse(rotated.body) as { api_key: string }).api_key
            secrets.push(newKey)

            yield* waitFor(
              Effect.map(
                readAudit(relay.url, { authorization: `Bearer ${newKey}` }),
                (r) => r.page !== undefined && kinds(r.page.records).includes("tunnel_closed")
              ),
              "the rotated key's tunnel to close"
            )
            const mine = (yield* readAudit(relay.url, { authorization: `Bearer ${newKey}` })).page!
            assert.strictEqual(mine.user_id, alice.user_id)
            assert.strictEqual(mine.chain, `user:${alice.user_id}`)
            const seen = new Set(kinds(mine.records))
            for (
              const kind of [
                "registration",
                "key_minted",
                "auth_ok",
                "tunnel_connected",
                "session_created",
                "request",
                "session_ended",
                "key_rotated",
                "tunnel_closed"
              ]
            ) assert.isTrue(seen.has(kind as AuditRecord["kind"]), `alice's chain has ${kind}`)
            assert.isTrue(mine.records.every((r) => r.user_id === alice.user_id))
            assert.deepStrictEqual(mine.records.map((r) => r.seq), mine.records.map((_, i) => i + 1))
            const http = mine.records.find((r) => r.kind === "request" && r.detail.path === "/peers")!
            assert.strictEqual(http.detail.method, "GET")
            assert.strictEqual(http.detail.status, 200)
            assert.strictEqual(http.detail.daemon_id, "laptop")
            assert.isAbove(http.detail.bytes_in as number, 0)
            assert.isAbove(http.detail.bytes_out as number, 0)
            assert.isAtLeast(http.detail.duration_ms as number, 0)
            assert.strictEqual(http.detail.client, "127.0.0.1")
            const socket = mine.records.find((r) => r.kind === "request" && r.detail.path === "/events/ws")!
            assert.strictEqual(socket.detail.status, 101)

            // Bob's daemon key reads Bob's chain only; the cookie of a signed-out session and no credentials read nothing.
            const bobs = (yield* readAudit(relay.url, { authorization: `Bearer ${bobKey}` })).page!
            assert.strictEqual(bobs.chain, "user:bob")
            assert.isTrue(bobs.records.every((r) => r.user_id === "bob"))
            assert.deepStrictEqual(kinds(bobs.records), ["auth_ok", "tunnel_connected"])
            assert.strictEqual((yield* readAudit(relay.url, {})).status, 401)
            assert.strictEqual((yield* readAudit(relay.url, { cookie: session.cookie })).status, 401)
            assert.strictEqual((yield* readAudit(relay.url, { authorization: `Bearer ${alice.api_key}` })).status, 401)
            const fresh = yield* login(relay.url, cert.cert, bobKey)
            secrets.push(fresh.cookie.split("=")[1]!)
            const byCookie = (yield* readAudit(relay.url, { cookie: fresh.cookie })).page!
            assert.strictEqual(byCookie.chain, "user:bob")
            const key = yield* request(`${relay.url}/_relay/audit/key`, cert.cert)
            assert.strictEqual(JSON.parse(key.body).public_key, mine.public_key)
          }))

        // After the relay closed: the global chain holds the failed sign-in; the store holds no secret.
        const operator = cli(tempDir("rw-op-"), ["relay", "audit", "--data-dir", dataDir, "--json"])
        assert.strictEqual(operator.code, 0, operator.stderr)
        const report = JSON.parse(operator.stdout) as {
          ok: boolean
          chains: Array<{ chain: string; ok: boolean; entries: Array<AuditRecord> }>
        }
        assert.isTrue(report.ok)
        const global = report.chains.find((c) => c.chain === "global")!
        assert.isTrue(global.entries.some((r) => r.kind === "auth_failed" && r.user_id === null))
        assert.isTrue(global.entries.some((r) => r.kind === "request"))
        const bytes = everyFileBytes(dataDir)
        assert.strictEqual(secrets.length, 5)
        for (const secret of secrets) assert.strictEqual(bytes.indexOf(secret), -1, "a key or cookie is in the store")
        assert.strictEqual(operator.stdout.indexOf("secret=query"), -1)
      }),
    60_000
  )

  it.live(
    "session_ended when a sign-in replaces a session, when one expires (presented, or swept), and on revocation",
    () =>
      Effect.gen(function*() {
        const dataDir = tempDir("rw-audit-sessions-")
        const ttlMs = 2000
        yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            const alice = yield* register(relay.url)
            yield* daemon("A", relay.url, alice.api_key, "laptop")
            const signIn = (cookie?: string) =>
              request(`${relay.url}/auth`, cert.cert, {
                method: "POST",
                headers: {
                  "content-type": "application/x-www-form-urlencoded",
                  origin: relay.url,
                  ...(cookie === undefined ? {} : { cookie })
                },
                body: `key=${encodeURIComponent(alice.api_key)}`
              }).pipe(Effect.map((r) => String(r.headers["set-cookie"]).split(";")[0]!))
            const peers = (cookie: string) =>
              Effect.map(request(`${relay.url}/peers`, cert.cert, { headers: { cookie } }), (r) => r.status)
            const first = yield* signIn()
            const second = yield* signIn(first)
            assert.notStrictEqual(yield* peers(first), 200, "the replaced session is gone")
            assert.strictEqual(yield* peers(second), 200)
            yield* signIn()
            yield* Effect.sleep(`${ttlMs + 300} millis`)
            assert.notStrictEqual(yield* peers(second), 200, "an expired session is refused")
            // The third session expired too and was never presented again: the next sign-in sweeps it.
            const fourth = yield* signIn()
            assert.strictEqual(yield* peers(fourth), 200)
            const rotated = yield* request(`${relay.url}/api/rotate`, cert.cert, {
              method: "POST",
              headers: { authorization: `Bearer ${alice.api_key}` }
            })
            assert.strictEqual(rotated.status, 200)
            const newKey = (JSON.parse(rotated.body) as { api_key: string }).api_key
            const mine = (yield* readAudit(relay.url, { authorization: `Bearer ${newKey}` })).page!
            const ended = mine.records.filter((r) => r.kind === "session_ended")
            assert.deepStrictEqual(ended.map((r) => r.detail.reason), ["replaced", "expired", "expired", "key_revoked"])
            assert.strictEqual(ended[0]!.detail.client, "127.0.0.1")
            for (const r of ended) assert.strictEqual(r.detail.key_id, alice.key_id)
            for (const r of ended.slice(1, 3)) {
              assert.isBelow(Date.parse(r.detail.expires_at as string), Date.parse(r.at))
            }
          }), { relay: { sessionTtlMs: ttlMs } })
      }),
    60_000
  )

  it("--audit-retain takes a duration; relay audit without a relay or a store says which is missing", () => {
    const home = tempDir("rw-op-")
    const bad = cli(home, ["relay", "serve", "--behind-proxy", "--port", "0", "--audit-retain", "90x"])
    assert.notStrictEqual(bad.code, 0)
    assert.include(bad.stdout + bad.stderr, "90x: give a duration like 90d, 12h, 30m")
    const none = cli(home, ["relay", "audit"])
    assert.strictEqual(none.code, 1)
    assert.include(none.stderr, "no relay is configured")
    const empty = cli(home, ["relay", "audit", "--data-dir", tempDir("rw-empty-")])
    assert.strictEqual(empty.code, 1)
    assert.include(empty.stderr, "no audit log in")
  }, 60_000)

  it.live("the CLI's key commands are audited beside a running relay", () =>
    Effect.gen(function*() {
      const dataDir = tempDir("rw-audit-cli-")
      yield* withRelay(dataDir, () =>
        Effect.sync(() => {
          const home = tempDir("rw-op-")
          const created = cli(home, ["relay", "keys", "create", "--user", "carol", "--data-dir", dataDir])
          assert.strictEqual(created.code, 0, created.stderr)
          const revoked = cli(home, ["relay", "keys", "revoke", "carol", "--data-dir", dataDir])
          assert.strictEqual(revoked.code, 0, revoked.stderr)
        }))
      const report = cli(tempDir("rw-op-"), ["relay", "audit", "--data-dir", dataDir, "--user", "carol", "--json"])
      assert.strictEqual(report.code, 0, report.stderr)
      const chain = (JSON.parse(report.stdout) as { chains: Array<{ entries: Array<AuditRecord> }> }).chains[0]!
      assert.deepStrictEqual(kinds(chain.entries), ["key_minted", "key_revoked"])
    }), 60_000)

  it.live(
    "the daemon verifies its chain, then refuses it after the relay is restored from an older copy",
    () =>
      Effect.gen(function*() {
        const dataDir = tempDir("rw-audit-restore-")
        const { key, port } = yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            const issued = yield* register(relay.url)
            yield* daemon("A", relay.url, issued.api_key, "laptop")
            return { key: issued.api_key, port: relay.port }
          }))
        const backup = tempDir("rw-audit-backup-")
        for (const f of fs.readdirSync(dataDir)) fs.copyFileSync(path.join(dataDir, f), path.join(backup, f))

        const url = `https://127.0.0.1:${port}`
        const home = yield* Effect.promise(() => daemonHome(url, key))
        const pinned = yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            yield* daemon("A", relay.url, key, "laptop")
            const session = yield* login(relay.url, cert.cert, key)
            for (let i = 0; i < 3; i++) {
              yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie: session.cookie } })
            }
            // Past the checkpoint interval, so the newest records are signed before the daemon looks.
            yield* Effect.flatMap(Audit, (a) => a.flush)
            yield* Effect.sleep("400 millis")
            const first = yield* auditCli(home, ["--verify", "--json"])
            assert.strictEqual(first.code, 0, first.stderr)
            assert.notStrictEqual(first.stdout, "", first.stderr)
            const result = JSON.parse(first.stdout) as { ok: boolean; verified: { checkpoint: { seq: number } } }
            assert.isTrue(result.ok)
            const listed = yield* auditCli(home, ["--since", "2"])
            assert.strictEqual(listed.code, 0, listed.stderr)
            assert.match(listed.stdout, /^3\t/m)
            assert.notMatch(listed.stdout, /^2\t/m)
            return result.verified.checkpoint.seq
          }), { port })
        assert.isAtLeast(pinned, 6)
        assert.isTrue(fs.existsSync(path.join(home, "relay-audit.json")))

        // The operator restores the old copy: the daemon's pinned checkpoint is no longer in the history.
        yield* withRelay(backup, (relay) =>
          Effect.gen(function*() {
            yield* daemon("A", relay.url, key, "laptop")
            yield* Effect.flatMap(Audit, (a) => a.flush)
            const second = yield* auditCli(home, ["--verify"])
            assert.strictEqual(second.code, 1, second.stdout + second.stderr)
            assert.match(second.stderr, /fails at seq \d+ \(not_extending\)/)
            const seq = Number(/fails at seq (\d+)/.exec(second.stderr)![1])
            assert.isAtMost(seq, pinned)
          }), { port })
      }),
    60_000
  )

  it.live(
    "retention drops old records behind a signed cut that verifies; a deleted record does not",
    () =>
      Effect.gen(function*() {
        const dataDir = tempDir("rw-audit-retain-")
        const key = yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            const issued = yield* register(relay.url)
            yield* daemon("A", relay.url, issued.api_key, "laptop")
            return issued.api_key
          }))
        yield* Effect.sleep("50 millis")
        yield* withRelay(dataDir, (relay) =>
          Effect.gen(function*() {
            yield* daemon("A", relay.url, key, "laptop")
            const page = (yield* readAudit(relay.url, { authorization: `Bearer ${key}` })).page!
            const cut = page.checkpoints.find((c) => c.cut)
            assert.isDefined(cut)
            assert.isTrue(page.records.every((r) => r.seq > cut!.seq))
            assert.isAbove(page.records.length, 0)
          }), { audit: { retainMs: 20 } })
        const ok = cli(tempDir("rw-op-"), ["relay", "audit", "--data-dir", dataDir, "--verify"])
        assert.strictEqual(ok.code, 0, ok.stdout + ok.stderr)
        assert.match(ok.stdout, /verified/)

        const db = new BetterSqlite(path.join(dataDir, "relay.db"))
        const victim = db.prepare(
          "SELECT chain, seq FROM audit_records WHERE chain = 'global' ORDER BY seq LIMIT 1 OFFSET 1"
        )
          .get() as { chain: string; seq: number }
        // The event's row: its global record (and its user's) goes.
        db.prepare("DELETE FROM audit_events WHERE seq = ?").run(victim.seq)
        db.close()
        const bad = cli(tempDir("rw-op-"), ["relay", "audit", "--data-dir", dataDir, "--verify"])
        assert.strictEqual(bad.code, 1)
        assert.include(bad.stderr, `audit chain global fails at seq ${victim.seq} (deleted)`)
      }),
    60_000
  )
})
