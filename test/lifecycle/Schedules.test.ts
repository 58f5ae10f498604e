import { assert, describe, it } from "@effect/vitest"
import { cleanEnv, runBin } from "../agents/Harness.js"
import { connectAgent } from "../support/Agent.js"
import { startDaemon, tempHome } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("schedules on a real daemon", () => {
  it("a scheduled ask arrives at a connected agent as an ordinary ask", async () => {
    const daemon = await startDaemon()
    try {
      const boss = await register(daemon.url, { name: "boss", backend: "codex", circle: "s" })
      const worker = await register(daemon.url, { name: "worker", backend: "codex", circle: "s" })
      const agent = await connectAgent(daemon.url, worker)
      const made = await request(daemon.url, "POST", "/schedules", {
        body: { from_peer: "boss", to_peer: "worker", text: "how far along?", at: "1s", kind: "ask" },
        headers: as(boss)
      })
      assert.strictEqual(made.status, 201, made.text)
      assert.match(made.body.id, /^sch-/)
      const frame = await agent.next("ask", 5000)
      assert.strictEqual(frame.text, "how far along?")
      assert.strictEqual(frame.from_name, "boss")
      assert.match(frame.correlation_id, /^ask-/)
      const asks = await request(daemon.url, "GET", `/asks?peer=${worker.peer_id}&direction=inbound`)
      assert.strictEqual(asks.body.asks.length, 1)
      const listed = await request(daemon.url, "GET", "/schedules")
      assert.deepStrictEqual(listed.body.schedules, [], "a one-shot is gone once fired")
      agent.close()
    } finally {
      await daemon.close()
    }
  })

  it("a bad cron expression is a 400 that says what is wrong", async () => {
    const daemon = await startDaemon()
    try {
      const a = await register(daemon.url, { name: "a", backend: "codex" })
      await register(daemon.url, { name: "b", backend: "codex" })
      const reply = await request(daemon.url, "POST", "/schedules", {
        body: { from_peer: "a", to_peer: "b", text: "x", cron: "99 * * * *" },
        headers: as(a)
      })
      assert.strictEqual(reply.status, 400)
      assert.strictEqual(reply.body.error.code, "invalid_request")
      assert.include(reply.body.error.message, "bad cron expression `99 * * * *`")
      const neither = await request(daemon.url, "POST", "/schedules", {
        body: { from_peer: "a", to_peer: "b", text: "x" },
        headers: as(a)
      })
      assert.strictEqual(neither.status, 400)
      assert.include(neither.body.error.message, "exactly one of `at`")
    } finally {
      await daemon.close()
    }
  })

  it("a schedule due while the daemon is down fires exactly once after it starts", async () => {
    const home = await tempHome()
    const first = await startDaemon({}, home)
    const a = await register(first.url, { name: "a", backend: "codex", circle: "r" })
    const b = await register(first.url, { name: "b", backend: "codex", circle: "r" })
    const made = await request(first.url, "POST", "/schedules", {
      body: { from_peer: "a", to_peer: "b", text: "while you were out", at: "1s" },
      headers: as(a)
    })
    assert.strictEqual(made.status, 201, made.text)
    await first.close()
    await sleep(1500)
    const second = await startDaemon({}, home)
    try {
      await sleep(1000)
      const events = (await request(second.url, "GET", "/events?since=0&limit=1000")).body.events as Array<any>
      const fired = events.filter((e) => e.type === "notify" && e.text === "while you were out")
      assert.strictEqual(fired.length, 1)
      const drained = await request(second.url, "GET", `/deliveries?peer=${b.peer_id}`, { headers: as(b) })
      assert.strictEqual(drained.body.messages.length, 1)
      assert.strictEqual(drained.body.messages[0].from_peer, a.peer_id)
    } finally {
      await second.close()
    }
    const third = await startDaemon({}, home)
    try {
      await sleep(500)
      const events = (await request(third.url, "GET", "/events?since=0&limit=1000")).body.events as Array<any>
      assert.strictEqual(events.filter((e) => e.type === "notify").length, 1, "not fired again on the next start")
    } finally {
      await third.close()
    }
  })

  it("the CLI adds (printing the id), lists and removes a schedule; only the owner or a human deletes", async () => {
    const daemon = await startDaemon()
    try {
      const env = cleanEnv({ REPOWIRE_HOME: daemon.home, NO_COLOR: "1" })
      const cli = (...args: Array<string>) => runBin(args, { env })
      await register(daemon.url, { name: "worker", backend: "codex" })
      const other = await register(daemon.url, { name: "other", backend: "codex" })
      const added = await cli("schedule", "add", "worker", "daily check-in", "--cron", "0 9 * * 1-5", "--kind", "ask")
      assert.strictEqual(added.code, 0, added.stderr)
      const id = added.stdout.split("\t")[0]!
      assert.match(id, /^sch-[a-z0-9]+$/)
      const json = await cli("schedule", "add", "worker", "later", "--at", "2h", "--json")
      assert.strictEqual(JSON.parse(json.stdout).kind, "notify")
      const listed = JSON.parse((await cli("schedule", "list", "--json")).stdout)
      assert.sameMembers(listed.schedules.map((s: any) => s.text), ["later", "daily check-in"])
      assert.include((await cli("schedule", "list")).stdout, `${id}\task\tcli\tworker\t0 9 * * 1-5`)
      const refused = await request(daemon.url, "DELETE", `/schedules/${id}`, { headers: as(other) })
      assert.strictEqual(refused.status, 403)
      const bad = await cli("schedule", "add", "worker", "x", "--cron", "every day")
      assert.notStrictEqual(bad.code, 0)
      assert.include(bad.stderr, "bad cron expression")
      const removed = await cli("schedule", "rm", id)
      assert.strictEqual(removed.code, 0, removed.stderr)
      const left = JSON.parse((await cli("schedule", "list", "--json")).stdout).schedules
      assert.deepStrictEqual(left.map((s: any) => s.text), ["later"])
    } finally {
      await daemon.close()
    }
  }, 60_000)
})
