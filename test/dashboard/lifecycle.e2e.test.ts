import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { buildDashboard } from "../../dashboard/build.mjs"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, request } from "../support/Http.js"
import { artifacts, launchChromium, waitFor } from "./e2eHelpers.js"

// The dashboard's lifecycle views in headless Chromium against the real daemon (in this process).

let daemon: TestDaemon
let browser: Browser
let page: Page
const pageErrors: Array<string> = []

beforeAll(async () => {
  await fs.mkdir(artifacts, { recursive: true })
  await buildDashboard({ quiet: true })
  daemon = await startDaemon()
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on("pageerror", (e) => pageErrors.push(e.message))
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await daemon?.close()
})

describe("dashboard: schedules", () => {
  it("lists schedules and deletes one", async () => {
    const lead = await register(daemon.url, { name: "lead", backend: "codex", circle: "ops" })
    await register(daemon.url, { name: "worker", backend: "codex", circle: "ops" })
    const make = (text: string, when: Record<string, string>) =>
      request(daemon.url, "POST", "/schedules", { body: { from_peer: "lead", to_peer: "worker", text, ...when }, headers: as(lead) })
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
