import { assert, describe, it } from "@effect/vitest"
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { tempHome } from "../support/Daemon.js"
import { cli } from "../support/Process.js"

const writeConfig = (home: string, text: string, mode = 0o600) => {
  const file = path.join(home, "config.yaml")
  writeFileSync(file, text)
  chmodSync(file, mode)
  return file
}

describe("repowire config", () => {
  it("creates the home 0700 and prints the defaults of every key", async () => {
    const home = path.join(await tempHome(), "fresh-home")
    const shown = cli(home, ["config", "show", "--json"])
    assert.strictEqual(shown.code, 0, shown.stderr)
    const values = JSON.parse(shown.stdout)
    assert.strictEqual(values.daemon.host, "127.0.0.1")
    assert.strictEqual(values.daemon.port, 8377)
    assert.strictEqual(values.daemon.auth_token, null)
    assert.strictEqual(values.daemon.mcp_http.enabled, false)
    assert.strictEqual(values.daemon.attachments.max_bytes, 10 * 1024 * 1024)
    assert.strictEqual(values.daemon.delivery_queue.max_per_peer, 1000)
    assert.strictEqual(values.relay.enabled, false)
    assert.strictEqual(values.logging.level, "info")
    assert.strictEqual(statSync(home).mode & 0o777, 0o700)
    assert.strictEqual(cli(home, ["config", "path"]).stdout.trim(), path.join(home, "config.yaml"))
  })

  it("applies REPOWIRE_<SECTION>__<KEY> overrides and hides secrets", async () => {
    const home = await tempHome()
    writeConfig(home, "daemon:\n  auth_token: a-very-secret-token-123\n")
    const shown = cli(home, ["config", "show", "--json"], {
      REPOWIRE_DAEMON__PORT: "9123",
      REPOWIRE_DAEMON__MCP_HTTP__ENABLED: "true",
      REPOWIRE_DAEMON__ATTACHMENTS__TTL: "2h"
    })
    assert.strictEqual(shown.code, 0, shown.stderr)
    const values = JSON.parse(shown.stdout)
    assert.strictEqual(values.daemon.port, 9123)
    assert.strictEqual(values.daemon.mcp_http.enabled, true)
    assert.strictEqual(values.daemon.attachments.ttl, "2h")
    assert.strictEqual(values.daemon.auth_token, "********")
    assert.isFalse(shown.stdout.includes("a-very-secret-token-123"))
  })

  const invalid: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["not YAML", "daemon: [unclosed\n", /not valid YAML/],
    ["a wrong type", "daemon:\n  port: eighty\n", /daemon\.port/],
    ["an unknown key", "daemon:\n  prot: 1\n", /prot/],
    ["a non-loopback host", "daemon:\n  host: 0.0.0.0\n", /loopback/],
    ["a bad duration", "daemon:\n  delivery_queue:\n    ttl: forever\n", /duration/]
  ]
  for (const [name, text, mention] of invalid) {
    it(`stops on ${name}, naming the file and key, and leaves the file untouched`, async () => {
      const home = await tempHome()
      const file = writeConfig(home, text)
      const result = cli(home, ["config", "show"])
      assert.strictEqual(result.code, 1)
      const line = result.stderr.trim()
      assert.strictEqual(line.split("\n").length, 1, line)
      assert.include(line, file)
      assert.match(line, mention)
      assert.strictEqual(readFileSync(file, "utf8"), text)
      const serve = cli(home, ["serve"])
      assert.strictEqual(serve.code, 1)
      assert.strictEqual(readFileSync(file, "utf8"), text)
    })
  }

  it("names the environment variable when an override is invalid", async () => {
    const home = await tempHome()
    const result = cli(home, ["config", "show"], { REPOWIRE_DAEMON__PORT: "99999" })
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, "REPOWIRE_DAEMON__PORT")
  })

  it("refuses a config file readable by others, saying how to fix it", async () => {
    const home = await tempHome()
    const file = writeConfig(home, "daemon:\n  port: 8400\n", 0o644)
    const result = cli(home, ["config", "show"])
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, `chmod 600 ${file}`)
  })
})
