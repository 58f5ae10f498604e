import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { buildDashboard } from "../../dashboard/build.mjs"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"
import { artifacts, launchChromium, waitFor } from "./e2eHelpers.js"

// The dashboard's lifecycle views in headless Chromium against the real daemon (in this process).

let daemon: TestDaemon
let root: string
const tmux = (...args: Array<string>) =>
  execFileSync("tmux", ["-S", path.join(root, "tmux.sock"), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"]
  })
let browser: Browser
let page: Page
const pageErrors: Array<string> = []

beforeAll(async () => {
  await fs.mkdir(artifacts, { recursive: true })
  await buildDashboard({ quiet: true })
  // Spawned windows go to a tmux server of their own, never the user's.
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "rw-dash-spawn-")))
  await fs.mkdir(path.join(root, "projects", "docs"), { recursive: true })
  daemon = await startDaemon({
    daemon: {
      spawn: {
        commands: { "claude-code": "sleep 600" },
        allowed_paths: [path.join(root, "projects")],
        tmux_socket: path.join(root, "tmux.sock")
      }
    }
  })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on("pageerror", (e) => pageErrors.push(e.message))
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await daemon?.close()
  try {
    tmux("kill-server")
  } catch {
    // no server was started
  }
  if (root !== undefined) await fs.rm(root, { recursive: true, force: true })
})

describe("dashboard: schedules", () => {
  it("lists schedules and deletes one", async () => {
    const lead = await register(daemon.url, { name: "lead", backend: "codex", circle: "ops" })
    await register(daemon.url, { name: "worker", backend: "codex", circle: "ops" })
    const make = (text: string, when: Record<string, string>) =>
      request(daemon.url, "POST", "/schedules", {
        body: { from_peer: "lead", to_peer: "worker", text, ...when },
        headers: as(lead)
      })
    const daily = await make("daily report please", { cron: "0 9 * * *", kind: "ask" })
    await make("deploy window opens", { at: "3h" })
    await page.goto(`${daemon.url}/dashboard#/schedules`)
    await page.locator(`[data-schedule="${daily.body.id}"]`).waitFor()
    assert.strictEqual(await page.locator(".schedule").count(), 2)
    assert.include(await page.locator(`[data-schedule="${daily.body.id}"]`).textContent(), "0 9 * * *")
    await page.screenshot({ path: path.join(artifacts, "dashboard-schedules.png") })
    await page.locator(`[data-schedule="${daily.body.id}"] button`, { hasText: "Delete" }).click()
    await waitFor("the row to go", async () => (await page.locator(".schedule").count()) === 1 ? true : undefined)
    const left = await request(daemon.url, "GET", "/schedules")
    assert.deepStrictEqual(left.body.schedules.map((s: any) => s.text), ["deploy window opens"])
    assert.deepStrictEqual(pageErrors, [])
  })
})

describe("dashboard: new agent", () => {
  it("starts an agent in a tmux window and shows its name; a refused folder shows why", async () => {
    await page.goto(`${daemon.url}/dashboard#/spawn`)
    await page.fill("input[name=path]", path.join(root, "projects", "docs"))
    await page.fill("input[name=circle]", "writers")
    await page.click("button[type=submit]")
    const result = page.locator(".new-agent .result")
    await result.waitFor()
    assert.include(await result.textContent(), "started docs in circle writers")
    assert.include(tmux("list-windows", "-a", "-F", "#{session_name}:#{window_name}"), "writers:docs")
    await page.screenshot({ path: path.join(artifacts, "dashboard-new-agent.png") })
    await page.fill("input[name=path]", "/etc")
    await page.click("button[type=submit]")
    await waitFor(
      "the refusal",
      async () =>
        (await page.locator(".new-agent .result.err").textContent())?.includes("outside daemon.spawn.allowed_paths")
          ? true
          : undefined
    )
    assert.deepStrictEqual(pageErrors, [])
  })
})

describe("dashboard: turn state", () => {
  it("shows whether an agent is working or awaiting input", async () => {
    const busy = await register(daemon.url, { name: "busy-bee", backend: "claude-code", circle: "ops" })
    const report = await request(daemon.url, "POST", "/events/chat", {
      body: {
        peer: busy.peer_id,
        report: { kind: "chat", role: "user", text: "go" },
        status: "busy",
        turn_state: "working"
      },
      headers: as(busy)
    })
    assert.strictEqual(report.status, 201, report.text)
    await page.goto(`${daemon.url}/dashboard#/peers`)
    const row = page.locator("[data-peer=\"busy-bee\"] .turn")
    await row.waitFor()
    assert.include(await row.textContent(), "working")
  })
})
