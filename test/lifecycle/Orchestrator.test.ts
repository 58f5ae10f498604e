import { assert, describe, it } from "@effect/vitest"
import { cleanEnv, runBin } from "../agents/Harness.js"
import { startDaemon } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"

describe("claiming the orchestrator role on a real daemon", () => {
  it("POST /peers/{ref}/role, one holder per circle, and repowire peer claim-role", async () => {
    const daemon = await startDaemon()
    try {
      const a = await register(daemon.url, { name: "a", backend: "codex", circle: "team" })
      const b = await register(daemon.url, { name: "b", backend: "codex", circle: "team" })
      const mine = await request(daemon.url, "POST", `/peers/${a.peer_id}/role`, {
        body: { role: "orchestrator" },
        headers: as(a)
      })
      assert.strictEqual(mine.status, 200, mine.text)
      assert.strictEqual(mine.body.role, "orchestrator")
      const notYours = await request(daemon.url, "POST", `/peers/${a.peer_id}/role`, {
        body: { role: "agent" },
        headers: as(b)
      })
      assert.strictEqual(notYours.status, 403, "an agent changes only its own role")
      const taken = await request(daemon.url, "POST", `/peers/${b.peer_id}/role`, {
        body: { role: "orchestrator" },
        headers: as(b)
      })
      assert.strictEqual(taken.status, 409)
      assert.strictEqual(taken.body.error.code, "role_taken")

      const env = cleanEnv({ REPOWIRE_HOME: daemon.home, NO_COLOR: "1" })
      const refused = await runBin(["peer", "claim-role", "orchestrator", "--peer", "b"], { env })
      assert.notStrictEqual(refused.code, 0)
      assert.include(refused.stderr, "already has an orchestrator")
      const forced = await runBin(["peer", "claim-role", "orchestrator", "--peer", "b", "--force", "--json"], { env })
      assert.strictEqual(forced.code, 0, forced.stderr)
      assert.strictEqual(JSON.parse(forced.stdout).role, "orchestrator")
      const peers = (await request(daemon.url, "GET", "/peers")).body.peers as Array<any>
      assert.strictEqual(peers.find((p) => p.display_name === "a").role, "agent")
      const nowhere = await runBin(["peer", "claim-role", "orchestrator"], { env, cwd: daemon.home })
      assert.notStrictEqual(nowhere.code, 0)
      assert.include(nowhere.stderr, "no agent session here")
    } finally {
      await daemon.close()
    }
  }, 60_000)
})
