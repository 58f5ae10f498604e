import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { buildDashboard } from "../../dashboard/build.mjs"
import { artifacts, Daemon, FakeAgent, launchChromium, tempHome } from "./e2eHelpers.js"

// A daemon with daemon.auth_token: the page logs in through the daemon's own form, and from
// then on an HttpOnly cookie (never visible to page JavaScript) authorises its requests.

const TOKEN = "local-dashboard-token-0123456789"
let home: string
let daemon: Daemon
let browser: Browser

beforeAll(async () => {
  await fs.mkdir(artifacts, { recursive: true })
  await buildDashboard({ quiet: true })
  home = await tempHome()
  daemon = await Daemon.start(home, 0, { REPOWIRE_DAEMON__AUTH_TOKEN: TOKEN })
  browser = await launchChromium()
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await daemon?.kill()
  if (home !== undefined) await fs.rm(home, { recursive: true, force: true })
})

describe("dashboard login with daemon.auth_token (Chromium)", () => {
  it("asks for the token, then works with an HttpOnly cookie the page cannot read", async () => {
    const denied = await daemon.api("GET", "/peers")
    assert.strictEqual(denied.status, 401)
    const registered = await daemon.api<{ peer_id: string; token: string }>(
      "POST",
      "/peers",
      { name: "api", backend: "claude-code", circle: "shop" },
      { authorization: `Bearer ${TOKEN}` }
    )
    assert.strictEqual(registered.status, 201)

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(e.message))
    await page.goto(`${daemon.url}/dashboard`)
    await page.waitForURL(/\/dashboard\/login$/)
    await page.locator("input[name=token]").fill("wrong-token-wrong-token")
    await page.locator("form button[type=submit]").click()
    await page.locator("[role=alert]").waitFor()
    await page.screenshot({ path: path.join(artifacts, "dashboard-login.png") })

    await page.locator("input[name=token]").fill(TOKEN)
    await page.locator("form button[type=submit]").click()
    await page.waitForURL(/\/dashboard$/)
    await page.locator(".peer[data-peer=api]").waitFor()
    await page.locator(".health[data-stream=live]").waitFor()
    assert.strictEqual(await page.evaluate(() => document.cookie), "")
    const cookies = await page.context().cookies()
    assert.isTrue(cookies.some((c) => c.httpOnly && c.sameSite === "Strict"))
    assert.isFalse(cookies.some((c) => c.value.includes(TOKEN)))

    // Sending works with the cookie alone: the page never held the token.
    const agent = new FakeAgent(daemon, registered.body.peer_id, "api", registered.body.token)
    await page.goto(`${daemon.url}/dashboard#/compose/${agent.peerId}`)
    await page.locator(".composer select[name=to]").selectOption(agent.peerId)
    await page.locator(".composer textarea").fill("ping with a cookie")
    await page.locator(".composer button[type=submit]").click()
    const result = await page.locator(".composer .result").textContent({ timeout: 10_000 })
    assert.match(result ?? "", /^ask-[a-z0-9]+ queued$/)
    assert.deepStrictEqual(errors, [])
    await page.close()
  })
})
