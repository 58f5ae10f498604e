import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { AGENTS, run, setup, startMesh } from "./Agents.js"
import { assertTurn } from "./Expect.js"

/** Gemini CLI's real CLI: one `gemini -p` turn against the fake model (GOOGLE_GEMINI_BASE_URL). */
const label = `Gemini CLI ${AGENTS.gemini.version}`

describe(label, () => {
  it("setup installs it; one turn lists peers, asks, and acks the ask AfterAgent hands over", async () => {
    const mesh = await startMesh("gemini", { GEMINI_API_KEY: "fake", GEMINI_CLI_NO_RELAUNCH: "true" })
    try {
      mesh.env.GOOGLE_GEMINI_BASE_URL = mesh.model.url
      fs.mkdirSync(path.join(mesh.home, ".gemini"))
      fs.writeFileSync(
        path.join(mesh.home, ".gemini", "settings.json"),
        JSON.stringify({
          security: { auth: { selectedType: "gemini-api-key" }, folderTrust: { enabled: false } },
          telemetry: { enabled: false },
          privacy: { usageStatisticsEnabled: false }
        })
      )
      const installed = await setup(mesh)
      assert.strictEqual(installed.code, 0, installed.stderr)
      const list = await run("gemini", ["mcp", "list"], { env: mesh.env, cwd: mesh.workspace, timeoutMs: 60_000 })
      assert.match(
        list.stdout + list.stderr,
        /repowire.*Connected/,
        `${label}: gemini mcp list: ${list.stdout}${list.stderr}`
      )
      const turn = await run("gemini", ["-p", "Ask lead which port the API listens on.", "--yolo"], {
        env: mesh.env,
        cwd: mesh.workspace,
        timeoutMs: 150_000
      })
      console.log(`${label}: turn ${turn.ms} ms, exit ${turn.code}`)
      assert.strictEqual(turn.code, 0, `${turn.stdout}\n${turn.stderr}`)
      const { events } = await assertTurn(mesh, "gemini", label)
      const answers = events.filter((e) => e.type === "chat" && e.role === "assistant").map((e) => e.text ?? "")
      assert.strictEqual(
        answers.filter((t) => t.includes("I asked lead")).length,
        1,
        `${label}: each answer reported once: ${JSON.stringify(answers)}`
      )
    } finally {
      await mesh.close()
    }
  }, 240_000)
})
