import { assert, describe, it } from "@effect/vitest"
import { hostname } from "node:os"
import { startDaemon } from "../support/Daemon.js"
import { register, request } from "../support/Http.js"

describe("daemon.machine_name", () => {
  it("is shown in /health and on every peer, whatever a registration claims", async () => {
    const daemon = await startDaemon({ daemon: { machine_name: "build-server" } })
    try {
      const health = await request(daemon.url, "GET", "/health")
      assert.strictEqual(health.body.machine, "build-server")
      await register(daemon.url, { name: "api", backend: "codex", machine: "elsewhere" })
      const peers = await request(daemon.url, "GET", "/peers")
      const machines = new Set(peers.body.peers.map((p: { machine: string }) => p.machine))
      assert.isAbove(peers.body.peers.length, 0)
      assert.deepStrictEqual([...machines], ["build-server"])
    } finally {
      await daemon.close()
    }
  })

  it("defaults to the host name", async () => {
    const daemon = await startDaemon()
    try {
      const health = await request(daemon.url, "GET", "/health")
      assert.strictEqual(health.body.machine, hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63))
    } finally {
      await daemon.close()
    }
  })

  it("refuses a name that could not be written as name@machine", async () => {
    const error = await startDaemon({ daemon: { machine_name: "two words" } }).then(() => "", (e) => String(e))
    assert.include(error, "machine_name")
  })
})
