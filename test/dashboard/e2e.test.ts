import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { buildDashboard } from "../../dashboard/build.mjs"
import { artifacts, Daemon, FakeAgent, launchChromium, tempHome, waitFor } from "./e2eHelpers.js"

// The dashboard in a real headless Chromium against the real daemon (`repowire serve`), with
// fake agents on /ws. Screenshots of each main view go to test-artifacts/.

let home: string
let daemon: Daemon
let browser: Browser
let page: Page
let api: FakeAgent
let web: FakeAgent
const cspViolations: Array<string> = []
const pageErrors: Array<string> = []

const shot = (name: string) => page.screenshot({ path: path.join(artifacts, `dashboard-${name}.png`) })

const shownCount = async () => {
  const text = await page.locator(".log .count").textContent()
  const match = /(\d+) \/ (\d+)/.exec(text ?? "")
  return match === null ? -1 : Number(match[2])
}

beforeAll(async () => {
  await fs.mkdir(artifacts, { recursive: true })
  await buildDashboard({ quiet: true })
  home = await tempHome()
  daemon = await Daemon.start(home)
  api = await FakeAgent.register(daemon, "api", "shop", "REST endpoints for users")
  web = await FakeAgent.register(daemon, "web", "shop", "the storefront")
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text())
  })
  page.on("pageerror", (e) => pageErrors.push(e.message))
}, 600_000)

afterAll(async () => {
  api?.close()
  web?.close()
  await browser?.close()
  await daemon?.kill()
  if (home !== undefined) await fs.rm(home, { recursive: true, force: true })
})

describe("dashboard end to end (Chromium + real daemon)", () => {
  it("shows the connected agents grouped by circle, live", async () => {
    await page.goto(`${daemon.url}/dashboard`)
    await page.locator(".circle[data-circle=shop] .peer[data-peer=api]").waitFor()
    await page.locator(".circle[data-circle=shop] .peer[data-peer=web]").waitFor()
    assert.include(await page.locator(".peer[data-peer=api]").textContent(), "REST endpoints for users")
    await page.locator(".health[data-stream=live]").waitFor()
    // A peer that joins while the page is open appears without a reload.
    const late = await FakeAgent.register(daemon, "worker", "infra")
    await page.locator(".circle[data-circle=infra] .peer[data-peer=worker]").waitFor()
    late.close()
    await shot("peers-log")
  })

  it("sends an ask with an attachment from the composer; the agent gets it and its ack shows", async () => {
    await page.goto(`${daemon.url}/dashboard#/compose/${api.peerId}`)
    await page.locator(".composer select[name=to]").selectOption(api.peerId)
    await page.locator(".composer textarea").fill("Which endpoints exist for users?")
    await page.locator(".composer input[type=file]").setInputFiles({
      name: "schema.sql",
      mimeType: "text/plain",
      buffer: Buffer.from("CREATE TABLE users (id int);")
    })
    await shot("composer")
    await page.locator(".composer button[type=submit]").click()
    const result = await page.locator(".composer .result.ok").textContent({ timeout: 10_000 })
    assert.match(result ?? "", /^ask-[a-z0-9]+ (queued|delivered)$/)

    const frame = await api.frame(
      (f) => f.type === "ask" && f.text === "Which endpoints exist for users?",
      "the ask on api's socket"
    )
    assert.strictEqual(frame.from_name, "dashboard")
    const attachments = frame.attachments as ReadonlyArray<{ name: string; path: string; id: string }>
    assert.strictEqual(attachments.length, 1)
    assert.strictEqual(attachments[0]!.name, "schema.sql")
    assert.strictEqual(await fs.readFile(attachments[0]!.path, "utf8"), "CREATE TABLE users (id int);")

    const ack = await api.post("/ack", { correlation_id: frame.correlation_id, message: "GET /users and POST /users" })
    assert.strictEqual(ack.status, 200)
    await page.goto(`${daemon.url}/dashboard#/asks`)
    const card = page.locator(`.ask[data-ask="${String(frame.correlation_id)}"]`)
    await card.locator(".badge.b-acked").waitFor()
    assert.include(await card.textContent(), "GET /users and POST /users")
    assert.include(await card.locator(".chip").textContent(), "schema.sql")
    await shot("asks")

    // The chip downloads the file; it is never rendered in the dashboard's origin.
    const download = await page.evaluate(async (id) => {
      const r = await fetch(`attachments/${id}`)
      return {
        disposition: r.headers.get("content-disposition"),
        nosniff: r.headers.get("x-content-type-options"),
        body: await r.text()
      }
    }, attachments[0]!.id)
    assert.match(download.disposition ?? "", /^attachment;/)
    assert.strictEqual(download.nosniff, "nosniff")
    assert.strictEqual(download.body, "CREATE TABLE users (id int);")

    // A follow-up joins the same thread (reply_to).
    await page.locator(".thread", { has: card }).locator("a.follow").click()
    await page.locator(".composer .hint").waitFor()
    await page.locator(".composer textarea").fill("And is there pagination?")
    await page.locator(".composer button[type=submit]").click()
    await page.locator(".composer .result.ok").waitFor()
    const follow = await api.frame(
      (f) => f.type === "ask" && f.text === "And is there pagination?",
      "the follow-up on api's socket"
    )
    assert.strictEqual(follow.reply_to, frame.correlation_id)
    await page.goto(`${daemon.url}/dashboard#/asks`)
    await page.locator(".thread", { has: card }).locator(`.ask[data-ask="${String(follow.correlation_id)}"]`).waitFor()
  })

  it("sends a notify and a broadcast from the composer", async () => {
    await page.goto(`${daemon.url}/dashboard#/compose/${web.peerId}`)
    await page.locator(".composer select[name=kind]").selectOption("notify")
    await page.locator(".composer select[name=to]").selectOption(web.peerId)
    await page.locator(".composer textarea").fill("heads up: the users API changed")
    await page.locator(".composer button[type=submit]").click()
    assert.match(
      await page.locator(".composer .result.ok").textContent({ timeout: 10_000 }) ?? "",
      /^msg-[a-z0-9]+ (queued|delivered)$/
    )
    await web.frame(
      (f) => f.type === "notify" && f.text === "heads up: the users API changed",
      "the notify on web's socket"
    )

    await page.locator(".composer select[name=kind]").selectOption("broadcast")
    await page.locator(".composer select[name=circle]").selectOption("shop")
    await page.locator(".composer textarea").fill("standup in five minutes")
    await page.locator(".composer button[type=submit]").click()
    assert.match(
      await page.locator(".composer .result.ok").textContent({ timeout: 10_000 }) ?? "",
      /^broadcast: \d+ delivered, \d+ queued$/
    )
    await api.frame(
      (f) => f.type === "broadcast" && f.text === "standup in five minutes",
      "the broadcast on api's socket"
    )
    await web.frame(
      (f) => f.type === "broadcast" && f.text === "standup in five minutes",
      "the broadcast on web's socket"
    )
  })

  it("lets the person answer an ask an agent made of the dashboard", async () => {
    // The dashboard peer lives in circle `default`; agents reach only their own circle.
    const ops = await FakeAgent.register(daemon, "ops", "default")
    const asked = await ops.post<{ correlation_id: string }>("/ask", {
      from_peer: ops.peerId,
      to_peer: "dashboard",
      text: "May I drop the legacy table?"
    })
    assert.strictEqual(asked.status, 200, JSON.stringify(asked.body))
    await page.goto(`${daemon.url}/dashboard#/asks`)
    const card = page.locator(`.ask[data-ask="${asked.body.correlation_id}"]`)
    await card.locator("textarea[name=reply]").fill("Yes, after the migration ships.")
    await card.locator("button[type=submit]").click()
    await card.locator(".badge.b-acked").waitFor()
    const reply = await ops.frame(
      (f) => f.type === "notify" && f.in_reply_to === asked.body.correlation_id,
      "the reply on ops's socket"
    )
    assert.strictEqual(reply.text, "Yes, after the migration ships.")
    ops.close()
  })

  it("shows a peer's conversation with collapsed tool calls and its open asks", async () => {
    await api.post("/events/chat", {
      peer: api.peerId,
      report: { kind: "chat", role: "user", text: "add a users endpoint" }
    })
    await api.post("/events/chat", {
      peer: api.peerId,
      report: { kind: "tool_call", tool: "Read", summary: "src/users.ts" }
    })
    await api.post("/events/chat", {
      peer: api.peerId,
      report: { kind: "tool_call", tool: "Edit", summary: "src/users.ts" }
    })
    await api.post("/events/chat", {
      peer: api.peerId,
      report: { kind: "chat", role: "assistant", text: "Added GET /users." }
    })
    const open = await web.post<{ correlation_id: string }>("/ask", {
      from_peer: web.peerId,
      to_peer: "api",
      text: "Is POST /users idempotent?"
    })
    assert.strictEqual(open.status, 200)
    await page.goto(`${daemon.url}/dashboard#/peer/${api.peerId}`)
    await page.locator(".turn.r-assistant", { hasText: "Added GET /users." }).waitFor()
    assert.include(await page.locator(".timeline .tools summary").first().textContent(), "Read, Edit")
    await page.locator(`.peer-view .ask[data-ask="${open.body.correlation_id}"]`).waitFor()
    await shot("peer")
  })

  it("filters the log by peer and circle", async () => {
    await page.goto(`${daemon.url}/dashboard#/log?peer=${web.peerId}`)
    await page.locator(".event").first().waitFor()
    const whos = await page.locator(".event .who").allTextContents()
    assert.isTrue(whos.length > 0 && whos.every((w) => w.includes("web")), whos.join(" | "))
    await page.goto(`${daemon.url}/dashboard#/log?circle=infra`)
    await page.locator(".event", { hasText: "worker" }).first().waitFor()
    assert.strictEqual(await page.locator(".event", { hasText: "api" }).count(), 0)
  })

  it("recovers the event stream after the daemon restarts, without gaps or duplicates", async () => {
    await page.goto(`${daemon.url}/dashboard#/log`)
    await page.locator(".health[data-stream=live]").waitFor()
    const before =
      (await daemon.api<{ events: ReadonlyArray<{ id: number }> }>("GET", "/events?limit=5000")).body.events.length
    await waitFor("the page to hold every event", async () => ((await shownCount()) === before ? true : undefined))

    const port = daemon.port
    await daemon.kill()
    await page.locator(".health[data-stream=reconnecting]").waitFor()
    daemon = await Daemon.start(home, port)
    await api.connect(daemon)
    await web.connect(daemon)
    await page.locator(".health[data-stream=live]").waitFor({ timeout: 30_000 })
    await web.post("/notify", { from_peer: web.peerId, to_peer: "api", text: "after the restart" })
    await page.locator(".event", { hasText: "after the restart" }).waitFor()

    const all = (await daemon.api<{ events: ReadonlyArray<{ id: number }> }>("GET", "/events?limit=5000")).body.events
    await waitFor("the page to catch up", async () => ((await shownCount()) === all.length ? true : undefined))
    const ids = await page.evaluate(() =>
      [...document.querySelectorAll("[data-event-id]")].map((e) => Number(e.getAttribute("data-event-id")))
    )
    assert.strictEqual(new Set(ids).size, ids.length, "no duplicate rows")
    await shot("log-after-restart")
  }, 90_000)

  it("shows the access rules in force, read-only, and their denials in the log", async () => {
    const file = path.join(home, "policy.yaml")
    const write = async (text: string) => {
      await fs.writeFile(`${file}.tmp`, text, { mode: 0o600 })
      await fs.rename(`${file}.tmp`, file)
    }
    await write(`default: allow\nrules:\n  - {effect: deny, from: "name:web", to: "name:api", actions: [notify]}\n`)
    await page.goto(`${daemon.url}/dashboard#/rules`)
    await page.locator(".rule.e-deny", { hasText: "deny name:web → name:api notify" }).waitFor()
    assert.include(await page.locator(".rules-head").textContent(), "default allow")

    const refused = await web.post("/notify", { from_peer: web.peerId, to_peer: "api", text: "not for api" })
    assert.strictEqual(refused.status, 403)
    await page.goto(`${daemon.url}/dashboard#/log`)
    const denial = page.locator(".event.t-policy_denied", { hasText: "web → api" })
    await denial.waitFor()
    assert.include(await denial.textContent(), "rule 1")
    assert.notInclude(await denial.textContent(), "not for api")

    // A change to the file shows without reloading the page: the health bar links to the new rules.
    await write(
      `default: allow\nrules:\n  - {effect: deny, from: "*", actions: [broadcast]}\n  - {effect: allow, from: "*"}\n`
    )
    await page.locator(".health a[href='#/rules']", { hasText: "2 rules" }).click()
    await page.locator(".rule.e-deny", { hasText: "deny * broadcast" }).waitFor()
    assert.strictEqual(await page.locator(".rule-list li").count(), 2)
    await shot("rules")
    await fs.rm(file)
    await page.locator(".health a[href='#/rules']").waitFor({ state: "detached" })
  }, 90_000)

  it("works on a phone-sized screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${daemon.url}/dashboard#/peers`)
    await page.locator(".peer[data-peer=api]").waitFor()
    await shot("phone-peers")
    await page.goto(`${daemon.url}/dashboard#/log`)
    await page.locator(".event").first().waitFor()
    await shot("phone-log")
    for (const view of ["log", "asks", "compose", `peer/${api.peerId}`]) {
      await page.goto(`${daemon.url}/dashboard#/${view}`)
      await page.locator(".main > section").first().waitFor()
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth
      )
      assert.isAtMost(overflow, 0, `no horizontal scrolling in ${view}`)
    }
    await page.goto(`${daemon.url}/dashboard#/asks`)
    await shot("phone-asks")
  })

  it("ran without page errors or CSP violations", () => {
    assert.deepStrictEqual(pageErrors, [])
    assert.deepStrictEqual(cspViolations, [])
  })
})
