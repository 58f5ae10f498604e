import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { cleanEnv, httpJson, runBin, tempDir } from "./Harness.js"

const TOKEN = "client-cli-test-token-0123456789abcdef"
let daemon: TestDaemon
let env: NodeJS.ProcessEnv
let agent: { peer_id: string; token: string }

beforeAll(async () => {
  // The CLI reads the token from config.yaml, as on a real machine.
  const home = tempDir("rw-cli-")
  fs.chmodSync(home, 0o700)
  fs.writeFileSync(path.join(home, "config.yaml"), `daemon:\n  auth_token: ${TOKEN}\n`, { mode: 0o600 })
  daemon = await startDaemon({ daemon: { auth_token: TOKEN } }, home)
  env = cleanEnv({ REPOWIRE_HOME: daemon.home, NO_COLOR: "1" })
  const r = await httpJson(daemon.url, "POST", "/peers", {
    body: { name: "backend", backend: "claude-code", description: "owns the API" },
    headers: { authorization: `Bearer ${TOKEN}` }
  })
  agent = r.body
}, 120_000)
afterAll(async () => {
  await daemon?.close()
})

const repowire = (...args: Array<string>) => runBin(args, { env })

describe("client commands against a real daemon (auth token set)", () => {
  it("peers: a table, --json prints the /peers body", async () => {
    const table = await repowire("peers")
    assert.strictEqual(table.code, 0, table.stderr)
    assert.include(table.stdout, "backend\tonline\tclaude-code\tdefault\towns the API")
    const json = await repowire("peers", "--all", "--json")
    assert.strictEqual(json.code, 0, json.stderr)
    const body = JSON.parse(json.stdout) as { peers: Array<{ display_name: string }> }
    assert.isTrue(body.peers.some((p) => p.display_name === "backend"))
  }, 120_000)

  it("ask / ack / asks / notify / broadcast as the cli peer, registered once", async () => {
    const asked = await repowire("ask", "backend", "Is the schema frozen?", "--json")
    assert.strictEqual(asked.code, 0, asked.stderr)
    const { correlation_id, delivery } = JSON.parse(asked.stdout) as { correlation_id: string; delivery: string }
    assert.match(correlation_id, /^ask-/)
    assert.strictEqual(delivery, "queued")
    const session = path.join(daemon.home, "sessions", "cli-cli.json")
    assert.strictEqual(fs.statSync(session).mode & 0o777, 0o600)
    const peerId = (JSON.parse(fs.readFileSync(session, "utf8")) as { peer_id: string }).peer_id

    const plain = await repowire("ask", "backend", "And the API?")
    assert.match(plain.stdout.trim(), /^ask-[a-z0-9]+\tqueued$/)
    assert.strictEqual(
      (JSON.parse(fs.readFileSync(session, "utf8")) as { peer_id: string }).peer_id,
      peerId,
      "same identity"
    )

    const open = JSON.parse((await repowire("asks", "--open", "--json")).stdout) as {
      asks: Array<{ correlation_id: string }>
    }
    assert.strictEqual(open.asks.length, 2)

    const ack = await httpJson(daemon.url, "POST", "/ack", {
      body: { correlation_id, message: "yes" },
      headers: { authorization: `Bearer ${TOKEN}`, "x-repowire-peer-token": agent.token }
    })
    assert.strictEqual(ack.status, 200)
    const listed = await repowire("asks")
    assert.match(listed.stdout, new RegExp(`${correlation_id}\\tcli\\tbackend\\tacked\\tIs the schema frozen\\?\\tyes`))

    const notified = JSON.parse((await repowire("notify", "backend", "heads up", "--json")).stdout) as {
      delivery: string
    }
    assert.strictEqual(notified.delivery, "queued")
    const cast = await repowire("broadcast", "release at 5", "--json")
    assert.strictEqual(cast.code, 0, cast.stderr)
    assert.include((JSON.parse(cast.stdout) as { queued: Array<string> }).queued, "backend")

    const other = await repowire("ack", "ask-0000000000", "--from", "ops")
    assert.notStrictEqual(other.code, 0)
    assert.isTrue(
      fs.existsSync(path.join(daemon.home, "sessions", "cli-ops.json")),
      "--from names another cli identity"
    )
  }, 120_000)

  it("registers again when the daemon no longer knows the cli peer", async () => {
    const session = path.join(daemon.home, "sessions", "cli-cli.json")
    const record = JSON.parse(fs.readFileSync(session, "utf8")) as { peer_id: string; token: string }
    await httpJson(daemon.url, "DELETE", `/peers/${record.peer_id}`, {
      headers: { authorization: `Bearer ${TOKEN}`, "x-repowire-peer-token": record.token }
    })
    const again = await repowire("notify", "backend", "still there?")
    assert.strictEqual(again.code, 0, again.stderr)
    assert.notStrictEqual((JSON.parse(fs.readFileSync(session, "utf8")) as { peer_id: string }).peer_id, record.peer_id)
  }, 120_000)

  it("doctor reports what works", async () => {
    const doctor = await repowire("doctor")
    assert.strictEqual(doctor.code, 0, doctor.stdout + doctor.stderr)
    assert.include(doctor.stdout, "ok    daemon answers at")
    assert.include(doctor.stdout, "ok    daemon accepts this machine's auth token")
  }, 120_000)

  it("fails with one line and a non-zero exit", async () => {
    const unknown = await repowire("ask", "nobody", "hello")
    assert.strictEqual(unknown.code, 1)
    assert.strictEqual(unknown.stderr.trim().split("\n").length, 1)
    assert.include(unknown.stderr, "no peer named `nobody`")
    const down = await runBin(["peers"], {
      env: cleanEnv({ REPOWIRE_HOME: tempDir("rw-nodaemon-"), REPOWIRE_DAEMON__PORT: "1" })
    })
    assert.strictEqual(down.code, 1)
    assert.strictEqual(
      down.stderr.trim(),
      "repowire: daemon not reachable at http://127.0.0.1:1 (connection refused); start it with `repowire daemon start`"
    )
    const refused = await runBin(["notify", "backend", "hi", "--from", "intruder"], {
      env: { ...env, REPOWIRE_AUTH_TOKEN: "not-the-token-0123456789abcdef0123" }
    })
    assert.strictEqual(refused.code, 1)
    assert.match(refused.stderr.trim(), /^repowire: cannot register: daemon answered 401: [^\n]+$/)
    const usage = await repowire("ask")
    assert.notStrictEqual(usage.code, 0)
    const help = await repowire("asks", "--help")
    assert.strictEqual(help.code, 0)
    assert.include(help.stdout, "--open")
  }, 120_000)
})
