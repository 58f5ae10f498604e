import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { buildDashboard } from "../../dashboard/build.mjs"
import { loadLoaderPage } from "../../src/programs/daemon/LoaderPage.js"
import { artifacts, FakeAgent, launchChromium } from "../dashboard/e2eHelpers.js"
import { RelayServicesLayer } from "../relay/harness.js"
import { listDevices, mintTicket, revokeDevice, sealedRelay, sealedState } from "./dashboardHelpers.js"

// The real dashboard through a real relay that the daemon dials through a recording hop, with
// `relay.e2e: required`: Chromium pairs from the `#pair=` link, runs the app the loader fetched
// through the sealed channel, and the hop never carries what the page shows.

const MARKERS = {
  peer: "zq-dash-peer-6f2",
  description: "zq dashboard description 8d1",
  chat: "zq dashboard chat text 4c7",
  attachment: "zq dashboard attachment bytes 2b9",
  file: "zq-dash-file-5e3.txt"
}

describe("the dashboard through a relay that requires the sealed tunnel (Chromium)", () => {
  it.live(
    "pairs from the link, shows peers, chat and attachments sealed; refuses bad links; revocation ends it",
    () =>
      Effect.gen(function*() {
        yield* Effect.promise(() => fs.mkdir(artifacts, { recursive: true }))
        yield* Effect.promise(() => buildDashboard({ quiet: true }))
        const { daemon, hop, key, relay } = yield* sealedRelay
        const agent = yield* Effect.acquireRelease(
          Effect.promise(() => FakeAgent.register(daemon, MARKERS.peer, "shop", MARKERS.description)),
          (a) => Effect.sync(() => a.close())
        )
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() => launchChromium()),
          (b) => Effect.promise(() => b.close())
        )
        const context = yield* Effect.promise(() => browser.newContext({ viewport: { width: 1280, height: 800 } }))
        const page = yield* Effect.promise(() => context.newPage())
        const errors: Array<string> = []
        page.on("pageerror", (e) => errors.push(e.message))
        page.on("console", (m) => {
          if (/Content.Security.Policy/i.test(m.text())) errors.push(m.text())
        })
        const dashboard = `${relay.url}/dashboard`

        // Signed in at the relay, not paired: the pair page, and no data.
        const unpaired = yield* Effect.promise(async () => {
          await page.goto(`${relay.url}/`)
          await page.locator("input[name=key]").fill(key)
          await page.locator("form button[type=submit]").click()
          await page.waitForURL(/\/dashboard$/)
          await sealedState(page, "unpaired")
          const peers = await page.evaluate(() => fetch("/peers").then((r) => r.status))
          return { text: await page.content(), peers }
        })
        assert.include(unpaired.text, "repowire relay pair")
        assert.notInclude(unpaired.text, MARKERS.peer)
        assert.strictEqual(unpaired.peers, 403)

        // A wrong secret: the message, the fragment gone, nothing stored on either side.
        const ticket = yield* Effect.promise(() => mintTicket(daemon))
        const [secretId, secretKey] = ticket.secret.split(".") as [string, string]
        const wrongKey = secretKey.replace(/^./, (c) => (c === "A" ? "B" : "A"))
        const wrong = yield* Effect.promise(async () => {
          await page.goto(`${dashboard}#pair=${secretId}.${wrongKey}`)
          await sealedState(page, "pairing_failed")
          return { text: await page.locator("body").innerText(), href: page.url() }
        })
        assert.include(wrong.text, "Pairing failed")
        assert.include(wrong.text, "Nothing was stored")
        assert.notInclude(wrong.href, "pair=")
        assert.deepStrictEqual(yield* Effect.promise(() => listDevices(daemon)), [])
        yield* Effect.promise(async () => {
          await page.goto(dashboard)
          await sealedState(page, "unpaired")
        })

        // A fresh link: paired, the fragment gone at once, the app running sealed.
        const good = yield* Effect.promise(() => mintTicket(daemon))
        const paired = yield* Effect.promise(async () => {
          // Opened afresh, as a link from the terminal opens (the wrong one above came over the open page).
          await page.goto("about:blank")
          await page.goto(`${dashboard}#pair=${good.secret}`)
          const hrefAfterLoad = await page.evaluate(() => location.href)
          await sealedState(page, "started")
          await page.locator(`.peer[data-peer=${MARKERS.peer}]`).waitFor()
          await page.locator(".health[data-stream=live]").waitFor()
          const sealed = page.locator(".health .sealed")
          await page.locator(".health .sealed:not([data-loader-sha256=''])").waitFor({ timeout: 20_000 }).catch(
            () => undefined
          )
          await page.screenshot({ path: path.join(artifacts, "dashboard-sealed-peers.png") })
          return {
            hrefAfterLoad,
            href: page.url(),
            fingerprint: await sealed.getAttribute("data-fingerprint"),
            loader: await sealed.getAttribute("data-loader-sha256")
          }
        })
        assert.notInclude(paired.hrefAfterLoad, "pair=")
        assert.notInclude(paired.href, "#")
        assert.strictEqual(paired.fingerprint, good.daemon_fingerprint)
        assert.strictEqual(paired.loader, loadLoaderPage().sha256)
        const [device] = yield* Effect.promise(() => listDevices(daemon))
        assert.isDefined(device)

        // The same link again, in a second tab: refused, and the device paired before stays the only one.
        const reused = yield* Effect.promise(async () => {
          const tab = await context.newPage()
          await tab.goto(`${dashboard}#pair=${good.secret}`)
          await sealedState(tab, "pairing_failed")
          const text = await tab.locator("body").innerText()
          await tab.close()
          return text
        })
        assert.include(reused, "Pairing failed")
        assert.strictEqual((yield* Effect.promise(() => listDevices(daemon))).length, 1)

        // Chat text and an attachment, sent and shown through the channel; the event stream and a WebSocket sealed.
        const shown = yield* Effect.promise(async () => {
          await page.goto(dashboard)
          await sealedState(page, "started")
          const ws = page.evaluate((until) =>
            new Promise<string>((resolve, reject) => {
              const socket = new (globalThis as any).repowireSealed.WebSocket("events/ws?since=0")
              let all = ""
              socket.onmessage = (m: MessageEvent<string>) => {
                all += m.data
                if (all.includes(until)) {
                  socket.close()
                  resolve(all)
                }
              }
              socket.onclose = (e: CloseEvent) => {
                if (!all.includes(until)) reject(new Error(`closed ${e.code} ${e.reason}`))
              }
            }), MARKERS.chat)
          await page.goto(`${dashboard}#/compose/${agent.peerId}`)
          await page.locator(".composer select[name=to]").selectOption(agent.peerId)
          await page.locator(".composer textarea").fill(MARKERS.chat)
          await page.locator(".composer input[type=file]").setInputFiles({
            name: MARKERS.file,
            mimeType: "text/plain",
            buffer: Buffer.from(MARKERS.attachment)
          })
          await page.locator(".composer button[type=submit]").click()
          const sent = await page.locator(".composer .result.ok").textContent({ timeout: 10_000 })
          await page.goto(`${dashboard}#/log`)
          const event = page.locator(".event", { hasText: MARKERS.chat })
          await event.waitFor()
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            event.locator(".chip", { hasText: MARKERS.file }).click()
          ])
          const saved = await fs.readFile((await download.path())!, "utf8")
          await page.screenshot({ path: path.join(artifacts, "dashboard-sealed-log.png") })
          return { sent, saved, name: download.suggestedFilename(), ws: await ws }
        })
        assert.match(shown.sent ?? "", /^ask-[a-z0-9]+ (queued|delivered)$/)
        assert.strictEqual(shown.saved, MARKERS.attachment)
        assert.strictEqual(shown.name, MARKERS.file)
        assert.include(shown.ws, MARKERS.chat)
        const frame = yield* Effect.promise(() =>
          agent.frame((f) => f.type === "ask" && f.text === MARKERS.chat, "the ask on the agent's socket")
        )
        assert.strictEqual(frame.from_name, "dashboard")

        // Nothing the page showed or sent crossed the daemon's link to the relay in clear.
        const wire = hop.bytes()
        assert.isAbove(wire.length, 10_000)
        for (const [what, marker] of Object.entries({ ...MARKERS, path: `/home/dev/src/${MARKERS.peer}` })) {
          assert.strictEqual(wire.indexOf(marker), -1, `the hop carried the ${what} in clear`)
        }

        // Revoked from the daemon's machine: the open page ends at once and keeps no data on screen.
        const revoked = yield* Effect.promise(async () => {
          await page.goto(dashboard)
          await sealedState(page, "started")
          await page.locator(`.peer[data-peer=${MARKERS.peer}]`).waitFor()
          const gone = await revokeDevice(daemon, device!.id)
          await sealedState(page, "revoked")
          const text = await page.locator("body").innerText()
          // Loaded again, the stored key is refused: the same kind of page, never the data.
          await page.reload()
          await sealedState(page, "refused", "revoked")
          return { status: gone.status, text, again: await page.locator("body").innerText() }
        })
        assert.strictEqual(revoked.status, 200)
        assert.include(revoked.text, "revoked")
        assert.include(revoked.text, "repowire relay pair")
        assert.include(revoked.again, "repowire relay pair")
        assert.notInclude(revoked.again, MARKERS.peer)
        assert.notInclude(revoked.text, MARKERS.peer)
        assert.deepStrictEqual(errors, [])

        // Revoked while no page was open: the next load's channel is refused, and nothing shows.
        const closedWhileRevoked = yield* Effect.promise(async () => {
          const ticket = await mintTicket(daemon)
          await page.goto("about:blank")
          await page.goto(`${dashboard}#pair=${ticket.secret}`)
          await sealedState(page, "started")
          await page.goto("about:blank")
          const live = (await listDevices(daemon)).filter((d) => d.revoked_at === null)
          for (const d of live) {
            await revokeDevice(daemon, d.id)
          }
          await page.goto(dashboard)
          await sealedState(page, "refused", "revoked")
          return { live: live.length, text: await page.locator("body").innerText() }
        })
        assert.strictEqual(closedWhileRevoked.live, 1)
        assert.include(closedWhileRevoked.text, "repowire relay pair")
        assert.notInclude(closedWhileRevoked.text, MARKERS.peer)

        // The loader's CSP admits its own script only: a script injected into the page does not run.
        const injected = yield* Effect.promise(() =>
          page.evaluate(() =>
            new Promise<{ directive: string; ran: boolean }>((resolve) => {
              document.addEventListener(
                "securitypolicyviolation",
                (e) =>
                  setTimeout(() => resolve({ directive: e.effectiveDirective, ran: "injected" in globalThis }), 50),
                { once: true }
              )
              const script = document.createElement("script")
              script.textContent = "globalThis.injected = true"
              document.head.append(script)
            })
          )
        )
        assert.deepStrictEqual(injected, { directive: "script-src-elem", ran: false })

        // A link opened while signed out at the relay: the sign-in carries it on, and the browser pairs.
        const signedOut = yield* Effect.promise(async () => {
          const ticket = await mintTicket(daemon)
          const fresh = await browser.newContext()
          const tab = await fresh.newPage()
          const tabErrors: Array<string> = []
          tab.on("pageerror", (e) => tabErrors.push(e.message))
          tab.on("console", (m) => {
            if (/Content.Security.Policy/i.test(m.text())) tabErrors.push(m.text())
          })
          await tab.goto(`${dashboard}#pair=${ticket.secret}`)
          await tab.waitForURL((u) => u.pathname === "/")
          await tab.locator("input[name=key]").fill(key)
          await tab.locator("form button[type=submit]").click()
          await sealedState(tab, "started")
          await tab.locator(`.peer[data-peer=${MARKERS.peer}]`).waitFor()
          const href = tab.url()
          await fresh.close()
          return { href, tabErrors }
        })
        assert.notInclude(signedOut.href, "pair=")
        assert.strictEqual(
          (yield* Effect.promise(() => listDevices(daemon))).filter((d) => d.revoked_at === null).length,
          1
        )
        assert.deepStrictEqual(signedOut.tabErrors, [])
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    120_000
  )
})
