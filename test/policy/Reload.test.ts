import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { startDaemon, tempHome, type TestDaemon } from "../support/Daemon.js"
import { as, register, type Registered, request } from "../support/Http.js"
import { assertDenied, json, until, writePolicy } from "./support.js"

let daemon: TestDaemon
let codex: Registered

const ask = () =>
  request(daemon.url, "POST", "/ask", {
    body: { from_peer: "codex-1", to_peer: "prod-db", text: "hi" },
    headers: as(codex)
  })
const policyHealth = async () => (await json(daemon.url, "GET", "/health", {})).body.policy

beforeAll(async () => {
  daemon = await startDaemon({}, await tempHome("rw-policy-reload-"))
  codex = await register(daemon.url, { name: "codex-1", backend: "codex" })
  await register(daemon.url, { name: "prod-db", backend: "claude-code" })
}, 60_000)

afterAll(() => daemon?.close())

describe("policy.yaml changes while the daemon runs", () => {
  it("without a file, today's rules stand", async () => {
    assert.deepStrictEqual(await policyHealth(), { status: "none", rules: 0 })
    assert.strictEqual((await ask()).status, 200)
  })

  it("an atomic rename puts new rules in force", async () => {
    writePolicy(daemon.home, "rules:\n  - {effect: deny, from: \"backend:codex\", to: \"name:prod-*\"}\n")
    await until("the reload", async () => ((await policyHealth()).status === "ok" ? true : undefined))
    assertDenied(await ask(), "rule 1 (deny backend:codex → name:prod-*)")
  })

  it("an invalid file keeps the old rules in force and shows in /health", async () => {
    writePolicy(
      daemon.home,
      "rules:\n  - {effect: allow, from: \"backend:codex\"}\n  - {effect: deny, from: \"*\", actions: [yell]}\n"
    )
    const health = await until("the invalid file", async () => {
      const h = await policyHealth()
      return h.status === "invalid" ? h : undefined
    })
    assert.strictEqual(health.rules, 1)
    assert.match(health.error, /policy\.yaml line 3: rules\.1\.actions\.0: unknown value "yell" \(one of ask, notify, /)
    assertDenied(await ask(), "rule 1")
    fs.writeFileSync(path.join(daemon.home, "policy.yaml"), "default: [", { mode: 0o600 })
    await until(
      "the unparsable file",
      async () => ((await policyHealth()).error?.includes("not valid YAML") ? true : undefined)
    )
    assertDenied(await ask(), "rule 1")
  })

  it("a file other users can read is refused like an invalid one", async () => {
    writePolicy(daemon.home, "rules: []\n")
    await until("the empty rules", async () => ((await policyHealth()).rules === 0 ? true : undefined))
    const file = path.join(daemon.home, "policy.yaml")
    fs.writeFileSync(file, "rules:\n  - {effect: deny, from: \"*\"}\n")
    fs.chmodSync(file, 0o644)
    const health = await until("the refusal", async () => {
      const h = await policyHealth()
      return h.status === "invalid" ? h : undefined
    })
    assert.include(health.error, "chmod 600")
    assert.strictEqual((await ask()).status, 200, "the previous (empty) rules stay")
  })

  it("removing the file returns to today's rules", async () => {
    fs.rmSync(path.join(daemon.home, "policy.yaml"))
    await until("the removal", async () => ((await policyHealth()).status === "none" ? true : undefined))
    assert.strictEqual((await ask()).status, 200)
  })
})

describe("a daemon started with an invalid policy.yaml", () => {
  it("refuses to start, naming the file, the line and the reason", async () => {
    const home = await tempHome("rw-policy-bad-")
    writePolicy(home, "default: deny\nrules:\n  - {effect: deny, from: \"team:red\"}\n")
    const failure = await startDaemon({}, home).then(
      async (d) => {
        await d.close()
        return undefined
      },
      (e: unknown) => String(e)
    )
    assert.isDefined(failure)
    assert.include(failure, `${path.join(home, "policy.yaml")} line 3`)
    assert.include(failure, "unknown selector `team:red`")
  })
})

describe("a live event stream opened before the rules", () => {
  it("follows rules that arrive later", async () => {
    const home = await tempHome("rw-policy-stream-")
    const d = await startDaemon({}, home)
    try {
      const reader = await register(d.url, { name: "reader", backend: "codex" })
      const received: Array<string> = []
      const req = (await import("node:http")).get(`${d.url}/events/stream?since=0`, { headers: as(reader) }, (res) => {
        res.on("data", (c: Buffer) => received.push(c.toString()))
      })
      await until("the stream", async () => (received.join("").includes(": connected") ? true : undefined))
      writePolicy(home, "rules:\n  - {effect: deny, from: \"name:reader\", to: \"name:hidden-*\", actions: [read]}\n")
      await until(
        "the rules",
        async () => ((await json(d.url, "GET", "/health", {})).body.policy.status === "ok" ? true : undefined)
      )
      await register(d.url, { name: "hidden-one", backend: "gemini" })
      await register(d.url, { name: "shown-one", backend: "gemini" })
      await until("the shown peer", async () => (received.join("").includes("shown-one") ? true : undefined))
      req.destroy()
      assert.notInclude(received.join(""), "hidden-one")
    } finally {
      await d.close()
    }
  })
})
