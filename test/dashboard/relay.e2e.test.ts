import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { chromium } from "playwright-core"
import { buildDashboard } from "../../dashboard/build.mjs"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { artifacts, callApi, CHROMIUM_ARGS, FakeAgent, waitFor } from "./e2eHelpers.js"

// The same dashboard build through a real relay: log in with a relay key in Chromium, see the
// daemon's agents, send an ask that reaches an agent's socket. The relay's TLS certificate is
// self-signed for the test, so Chromium is told to accept it.

const cert = makeCert(tempDir("rw-dash-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("dashboard through the relay (Chromium)", () => {
  it.live("logs in with a key, shows the daemon's peers and sends an ask to an agent", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => fs.mkdir(artifacts, { recursive: true }))
      yield* Effect.promise(() => buildDashboard({ quiet: true }))
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("carol")
      const daemon = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startDaemon({ relay: { enabled: true, url: relay.url, api_key: key, daemon_id: "laptop", e2e: "off" } })
        ),
        (d) => Effect.promise(() => d.close())
      )
      yield* Effect.promise(() =>
        waitFor("the relay link", async () => {
          const h = await callApi<{ relay: { status: string } }>(daemon.url, "GET", "/health")
          return h.body.relay.status === "connected" ? true : undefined
        })
      )
      const agent = yield* Effect.acquireRelease(
        Effect.promise(() => FakeAgent.register(daemon, "remote-api", "shop", "reachable from anywhere")),
        (a) => Effect.sync(() => a.close())
      )

      const browser = yield* Effect.acquireRelease(
        Effect.promise(() =>
          chromium.launch({
            executablePath: "/usr/bin/chromium",
            args: [...CHROMIUM_ARGS, "--ignore-certificate-errors"]
          })
        ),
        (b) => Effect.promise(() => b.close())
      )
      const result = yield* Effect.promise(async () => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true })
        const errors: Array<string> = []
        page.on("pageerror", (e) => errors.push(e.message))
        page.on("console", (m) => {
          if (/Content.Security.Policy/i.test(m.text())) errors.push(m.text())
        })
        await page.goto(`${relay.url}/`)
        await page.locator("input[name=key]").fill(key)
        await page.locator("form button[type=submit]").click()
        await page.waitForURL(/\/dashboard$/)
        await page.locator(".peer[data-peer=remote-api]").waitFor()
        await page.locator(".health[data-stream=live]").waitFor()
        const relayStatus = await page.locator(".health .relay").textContent()
        await page.screenshot({ path: path.join(artifacts, "dashboard-relay-peers.png") })

        await page.goto(`${relay.url}/dashboard#/compose/${agent.peerId}`)
        await page.locator(".composer select[name=to]").selectOption(agent.peerId)
        await page.locator(".composer textarea").fill("Hello through the relay")
        await page.locator(".composer input[type=file]").setInputFiles({
          name: "note.txt",
          mimeType: "text/plain",
          buffer: Buffer.from("attached through the tunnel")
        })
        await page.locator(".composer button[type=submit]").click()
        const sent = await page.locator(".composer .result.ok").textContent({ timeout: 10_000 })
        await page.goto(`${relay.url}/dashboard#/log`)
        await page.locator(".event", { hasText: "Hello through the relay" }).waitFor()
        await page.screenshot({ path: path.join(artifacts, "dashboard-relay-log.png") })
        // The page's JavaScript sees no credential: the relay's session cookie is HttpOnly.
        const visibleCookies = await page.evaluate(() => document.cookie)
        return { relayStatus, sent, visibleCookies, errors }
      })
      assert.include(result.relayStatus ?? "", "connected")
      assert.match(result.sent ?? "", /^ask-[a-z0-9]+ (queued|delivered)$/)
      assert.strictEqual(result.visibleCookies, "")
      assert.deepStrictEqual(result.errors, [])

      const frame = yield* Effect.promise(() =>
        agent.frame((f) => f.type === "ask" && f.text === "Hello through the relay", "the ask on the agent's socket")
      )
      assert.strictEqual(frame.from_name, "dashboard")
      const attachments = frame.attachments as ReadonlyArray<{ path: string }>
      assert.strictEqual(
        yield* Effect.promise(() => fs.readFile(attachments[0]!.path, "utf8")),
        "attached through the tunnel"
      )
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 90_000)
})
