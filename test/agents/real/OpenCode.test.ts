import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { httpJson } from "../Harness.js"
import { AGENTS, type Mesh, PEER, run, setup, startMesh } from "./Agents.js"
import { assertTurn } from "./Expect.js"

/**
 * OpenCode's real CLI against the fake model (an OpenAI-compatible chat completions provider):
 * one `opencode run` turn, then a second run that picks up what the first left queued; and a
 * long-lived `opencode serve` driven through its HTTP API, where the plugin's hand-over runs.
 */
const label = `OpenCode ${AGENTS.opencode.version}`

const quiet = {
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  OPENCODE_DISABLE_SHARE: "1"
}

const writeConfig = (mesh: Mesh) => {
  const dir = path.join(mesh.home, ".config", "opencode")
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, "opencode.json"),
    JSON.stringify({
      $schema: "https://opencode.ai/config.json",
      autoupdate: false,
      share: "disabled",
      model: "fake/fake",
      provider: {
        fake: {
          npm: "@ai-sdk/openai-compatible",
          name: "Fake",
          options: { baseURL: `${mesh.model.url}/v1`, apiKey: "fake" },
          models: { fake: { name: "Fake", tool_call: true } }
        }
      }
    })
  )
}

const install = async (mesh: Mesh) => {
  writeConfig(mesh)
  const installed = await setup(mesh)
  assert.strictEqual(installed.code, 0, installed.stderr)
  assert.isTrue(fs.existsSync(path.join(mesh.home, ".config", "opencode", "plugin", "repowire.js")))
}

const asLead = (mesh: Mesh) => ({ "x-repowire-peer-token": mesh.lead.token })
const askState = async (mesh: Mesh, id: string) =>
  (await httpJson(mesh.daemon.url, "GET", `/asks/${id}`, { headers: asLead(mesh) })).body.state as string
const sawFollowUp = (mesh: Mesh, id: string) =>
  mesh.model.log.some((r) => r.conversation.text.includes(`[repowire] ask ${id}`))

/** The intro reached the model as a system message, never as the user's text. */
const assertIntro = (mesh: Mesh) => {
  const main = mesh.model.log.filter((r) => Array.isArray(r.body.tools) && r.body.tools.length > 0)
  assert.isAbove(main.length, 0)
  for (const r of main) {
    const system = (r.body.messages as Array<{ role: string; content: unknown }>).filter((m) => m.role === "system")
    assert.include(
      JSON.stringify(system),
      `repowire mesh as \\"${PEER}\\"`,
      `${label}: the intro is in the system prompt`
    )
  }
}

/** The agent's own view of its queue (its token from the session file the hooks share). */
const agentQueue = async (mesh: Mesh) => {
  const dir = path.join(mesh.daemon.home, "sessions")
  const file = fs.readdirSync(dir).find((f) => f.startsWith("opencode-"))!
  const session = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { peer_id: string; token: string }
  const res = await httpJson(mesh.daemon.url, "GET", `/deliveries?peer=${session.peer_id}&peek=true`, {
    headers: { "x-repowire-peer-token": session.token }
  })
  return res.body.messages as Array<{ id: string; kind: string; correlation_id: string | null }>
}

/**
 * Nothing is left queued for the agent, and no message was delivered twice. (An ask the agent
 * acked is delivered by its ack, so its confirm that follows adds no second receipt.)
 */
const assertDeliveredOnce = async (mesh: Mesh, peerId: string) => {
  assert.deepStrictEqual(await agentQueue(mesh), [], `${label}: nothing left queued`)
  const events = (await httpJson(mesh.daemon.url, "GET", `/events?peer=${peerId}&limit=500`)).body.events as Array<any>
  const receipts = events.filter((e) => e.type === "delivery").map((e) => e.message_id as string)
  assert.strictEqual(
    new Set(receipts).size,
    receipts.length,
    `${label}: one receipt per message: ${JSON.stringify(receipts)}`
  )
  return receipts
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 250))
  }
  assert.fail(`timed out waiting for ${what}`)
}

describe(label, () => {
  it(
    "opencode run: one turn lists peers and asks; what it cannot hand over stays queued and reaches the next run",
    async () => {
      const mesh = await startMesh("opencode", quiet)
      try {
        await install(mesh)
        const first = await run("opencode", ["run", "Ask lead which port the API listens on."], {
          env: mesh.env,
          cwd: mesh.workspace,
          timeoutMs: 150_000
        })
        console.log(`${label} (run): first turn ${first.ms} ms, exit ${first.code}`)
        assert.strictEqual(first.code, 0, `${first.stdout}\n${first.stderr}`)
        const leadAsk = mesh.leadAsk()
        assert.isDefined(leadAsk, `${label}: the agent's ask reached the lead, who asked back`)
        // The plugin prompts the session with the lead's ask on session.idle; opencode run exits
        // without running that turn. Whatever happened, the ask is delivered only if the model saw it.
        const ranFollowUp = sawFollowUp(mesh, leadAsk!)
        const state = await askState(mesh, leadAsk!)
        console.log(`${label} (run): hand-over prompt ran a turn: ${ranFollowUp}; the lead's ask is ${state}`)
        assert.strictEqual(state, ranFollowUp ? "acked" : "queued", `${label}: delivered only if the agent got it`)

        const second = await run("opencode", ["run", "Carry on."], {
          env: mesh.env,
          cwd: mesh.workspace,
          timeoutMs: 150_000
        })
        console.log(`${label} (run): second turn ${second.ms} ms, exit ${second.code}`)
        assert.strictEqual(second.code, 0, `${second.stdout}\n${second.stderr}`)
        const { peer } = await assertTurn(mesh, "opencode", `${label} (run)`)
        assertIntro(mesh)
        // The second run's prompt carried the lead's answer and ask: confirmed before the model acked.
        const receipts = await assertDeliveredOnce(mesh, peer.peer_id)
        assert.strictEqual(receipts.length, 2, `${label}: the lead's answer and ask, each confirmed once`)
      } finally {
        await mesh.close()
      }
    },
    360_000
  )

  it(
    "opencode serve: a turn through its HTTP API; on session.idle the plugin hands the lead's ask over and confirms it",
    async () => {
      const mesh = await startMesh("opencode", quiet)
      const port = await freePort()
      let server: ReturnType<typeof spawn> | undefined
      let serverLog = ""
      try {
        await install(mesh)
        server = spawn("opencode", ["serve", "--port", String(port), "--hostname", "127.0.0.1", "--print-logs"], {
          env: mesh.env,
          cwd: mesh.workspace,
          detached: true
        })
        server.stdout!.on("data", (d) => (serverLog += d))
        server.stderr!.on("data", (d) => (serverLog += d))
        const base = `http://127.0.0.1:${port}`
        const started = Date.now()
        await waitFor("opencode serve", async () => {
          try {
            return (await fetch(`${base}/session`, { signal: AbortSignal.timeout(10_000) })).ok
          } catch {
            return false
          }
        }, 120_000)
        console.log(`${label} (serve): answering ${Date.now() - started} ms after start`)
        const session = await (await fetch(`${base}/session`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}"
        })).json() as { id: string }
        const turn = await fetch(`${base}/session/${session.id}/message`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ parts: [{ type: "text", text: "Ask lead which port the API listens on." }] })
        })
        assert.strictEqual(turn.status, 200, await turn.text())
        console.log(`${label} (serve): turn answered ${Date.now() - started} ms after start`)
        const leadAsk = mesh.leadAsk()
        assert.isDefined(leadAsk, `${label}: the lead asked back`)
        await waitFor(
          "the hand-over turn to ack the lead's ask",
          async () => (await askState(mesh, leadAsk!)) === "acked",
          90_000
        )
        console.log(`${label} (serve): the lead's ask acked ${Date.now() - started} ms after start`)
        assert.isTrue(sawFollowUp(mesh, leadAsk!))
        // The plugin confirms once its prompt's turn is over: the lead's answer (not acked by anyone) is then delivered.
        await waitFor("the plugin to confirm its hand-over", async () => (await agentQueue(mesh)).length === 0, 30_000)
        const { peer } = await assertTurn(mesh, "opencode", `${label} (serve)`)
        assertIntro(mesh)
        const receipts = await assertDeliveredOnce(mesh, peer.peer_id)
        assert.strictEqual(
          receipts.length,
          1,
          `${label}: the lead's answer confirmed by the plugin; the ask delivered by its ack`
        )
        const messages = await (await fetch(`${base}/session/${session.id}/message`)).json() as Array<any>
        const handOvers = messages.filter((m) =>
          m.info.role === "user" && JSON.stringify(m.parts).includes(`[repowire] ask ${leadAsk}`)
        )
        assert.strictEqual(handOvers.length, 1, `${label}: the hand-over is one prompt in the session`)
      } catch (e) {
        console.log(serverLog.slice(-4000))
        throw e
      } finally {
        if (server?.pid) {
          try {
            process.kill(-server.pid, "SIGTERM")
          } catch {
            // gone
          }
        }
        await mesh.close()
      }
    },
    360_000
  )
})
