import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { tempHome } from "../support/Daemon.js"
import { request } from "../support/Http.js"
import { cli } from "../support/Process.js"

describe("repowire daemon start|status|stop", () => {
  it("starts detached and idempotently, reports status, and stops", async () => {
    const home = await tempHome()
    const env = { REPOWIRE_DAEMON__PORT: "0" }
    assert.strictEqual(cli(home, ["daemon", "status"], env).code, 1)
    const started = cli(home, ["daemon", "start"], env)
    assert.strictEqual(started.code, 0, started.stderr)
    assert.match(started.stdout, /daemon started at http:\/\/127\.0\.0\.1:\d+/)
    const info = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8"))
    try {
      const again = cli(home, ["daemon", "start"], env)
      assert.strictEqual(again.code, 0)
      assert.match(again.stdout, /already running/)
      assert.strictEqual(JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")).pid, info.pid)
      const status = cli(home, ["daemon", "status", "--json"], env)
      assert.strictEqual(status.code, 0)
      const health = JSON.parse(status.stdout)
      assert.strictEqual(health.pid, info.pid)
      assert.strictEqual(health.relay.status, "disabled")
      assert.strictEqual((await request(info.url, "GET", "/health")).status, 200)
    } finally {
      const stopped = cli(home, ["daemon", "stop"], env)
      assert.strictEqual(stopped.code, 0)
      assert.match(stopped.stdout, /stopped/)
    }
    assert.strictEqual(cli(home, ["daemon", "status"], env).code, 1)
    assert.match(cli(home, ["daemon", "stop"], env).stdout, /not running/)
  }, 60_000)

  it("a second daemon on the same home says the state is in use, exits 1, and the first keeps serving", async () => {
    const home = await tempHome()
    const env = { REPOWIRE_DAEMON__PORT: "0" }
    assert.strictEqual(cli(home, ["daemon", "start"], env).code, 0)
    try {
      const info = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8"))
      const second = cli(home, ["serve"], env)
      assert.strictEqual(second.code, 1)
      assert.match(second.stderr, /^repowire: .*state\.db is in use by another repowire daemon/m)
      assert.strictEqual((await request(info.url, "GET", "/health")).status, 200)
    } finally {
      cli(home, ["daemon", "stop"], env)
    }
  }, 60_000)

  it("never writes the auth token to its log", async () => {
    const home = await tempHome()
    const token = "token-that-must-not-be-logged-42"
    const env = { REPOWIRE_DAEMON__PORT: "0", REPOWIRE_DAEMON__AUTH_TOKEN: token, REPOWIRE_LOGGING__LEVEL: "debug" }
    assert.strictEqual(cli(home, ["daemon", "start"], env).code, 0)
    try {
      const info = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8"))
      const headers = { authorization: `Bearer ${token}` }
      await request(info.url, "GET", "/peers", { headers })
      await request(info.url, "POST", "/peers", { body: { name: "x", backend: "codex" }, headers })
      await request(info.url, "GET", "/peers", { headers: { authorization: "Bearer wrong" } })
    } finally {
      cli(home, ["daemon", "stop"], env)
    }
    const log = readFileSync(path.join(home, "daemon.log"), "utf8")
    assert.include(log, "listening")
    assert.notInclude(log, token)
  }, 60_000)

  it("every command answers --help, and a bad command exits non-zero", async () => {
    const home = await tempHome()
    for (const args of [[], ["serve"], ["daemon"], ["daemon", "start"], ["config", "show"]]) {
      const result = cli(home, [...args, "--help"])
      assert.strictEqual(result.code, 0, args.join(" "))
      assert.include(result.stdout, "USAGE")
    }
    assert.notStrictEqual(cli(home, ["teleport"]).code, 0)
  })
})
