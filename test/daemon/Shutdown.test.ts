import { assert, describe, it } from "@effect/vitest"
import { connectAgent } from "../support/Agent.js"
import { startDaemon } from "../support/Daemon.js"
import { register } from "../support/Http.js"

describe("shutdown", () => {
  it("stops while agents are connected, closing their sockets", async () => {
    const daemon = await startDaemon()
    const peer = await register(daemon.url, { name: "stayer", backend: "codex", circle: "bye" })
    const agent = await connectAgent(daemon.url, peer)
    // A hang here (the HTTP server waiting for sockets that only close after it) never ends.
    const stopped = await Promise.race([
      daemon.close().then(() => "stopped"),
      new Promise((r) => setTimeout(() => r("still running after 10 s"), 10_000))
    ])
    assert.strictEqual(stopped, "stopped")
    assert.isNumber((await agent.closed).code)
  }, 20_000)
})
