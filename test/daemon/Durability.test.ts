import { assert, describe, it } from "@effect/vitest"
import { tempHome } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"
import { spawnDaemon } from "../support/Process.js"

describe("durability", () => {
  it("kill -9 after N accepted notifies loses none of them", async () => {
    const home = await tempHome()
    const first = await spawnDaemon(home)
    const sender = await register(first.url, { name: "sender", backend: "codex", circle: "d" })
    const receiver = await register(first.url, { name: "receiver", backend: "codex", circle: "d" })
    const N = 200
    const accepted: Array<string> = []
    await Promise.all(Array.from({ length: N }, async (_, i) => {
      const reply = await request(first.url, "POST", "/notify", {
        body: { from_peer: "sender", to_peer: "receiver", text: `message ${i}` },
        headers: as(sender)
      })
      if (reply.status === 200) accepted.push(reply.body.id)
    }))
    assert.strictEqual(accepted.length, N)
    first.child.kill("SIGKILL")
    await new Promise((r) => first.child.once("exit", r))

    const second = await spawnDaemon(home)
    try {
      const drained = await request(second.url, "GET", `/deliveries?peer=${receiver.peer_id}`, {
        headers: as(receiver)
      })
      assert.strictEqual(drained.status, 200)
      const ids = new Set((drained.body.messages as Array<{ id: string }>).map((m) => m.id))
      assert.strictEqual(ids.size, N)
      for (const id of accepted) assert.isTrue(ids.has(id), `${id} survived`)
      const events = (await request(second.url, "GET", "/events?since=0&limit=5000")).body.events as Array<any>
      assert.strictEqual(events.filter((e) => e.type === "notify").length, N)
    } finally {
      second.child.kill("SIGKILL")
    }
  }, 60_000)
})
