import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { chromium } from "playwright-core"
import type { BrowserContext } from "playwright-core"
import { buildDashboard } from "../../dashboard/build.mjs"
import { AuditLive } from "../../src/layers/audit/AuditLive.js"
import type { AuditPage } from "../../src/protocol/Audit.js"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { artifacts, CHROMIUM_ARGS, waitFor } from "./e2eHelpers.js"

// The Access log tab through a real relay with its audit log on: Chromium signs carol in twice,
// from 127.0.0.1 and (through the relay's trusted proxy header) from 203.0.113.7, and sees her
// own sign-ins, session and tunnel records, the second address marked new. Dave's sign-in and an
// anonymous failed one never show in carol's view. The daemon's own dashboard only says where
// the log lives.

const cert = makeCert(tempDir("rw-access-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

const relayLayers = (dataDir: string) =>
  AuditLive(dataDir, { flushMs: 10, intervalMs: 200 }).pipe(
    Layer.provideMerge(RelayServicesLayer(path.join(dataDir, "relay.db")))
  )

const signIn = async (context: BrowserContext, url: string, key: string) => {
  const page = await context.newPage()
  await page.goto(`${url}/`)
  await page.locator("input[name=key]").fill(key)
  await page.locator("form button[type=submit]").click()
  await page.waitForLoadState("load")
  return page
}

/** A user's chain as the relay serves it: by the context's session cookie, or by a key. */
const chain = async (context: BrowserContext, url: string, key?: string) => {
  const response = await context.request.get(`${url}/_relay/audit?since=0&limit=1000`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` }
  })
  return (await response.json()) as AuditPage
}

describe("dashboard Access log through the relay (Chromium)", () => {
  it.live(
    "lists the user's own audit chain, newest first, and marks a sign-in from a new address",
    () =>
      Effect.gen(function*() {
        yield* Effect.promise(() => fs.mkdir(artifacts, { recursive: true }))
        yield* Effect.promise(() => buildDashboard({ quiet: true }))
        // Loopback is the trusted proxy, so a browser context can say which client it is.
        const relay = yield* startRelay(cert, { trustedProxies: ["127.0.0.1"] })
        const carolKey = yield* mintKey("carol")
        const daveKey = yield* mintKey("dave")
        const daemon = yield* Effect.acquireRelease(
          Effect.promise(() =>
            startDaemon({
              relay: { enabled: true, url: relay.url, api_key: carolKey, daemon_id: "laptop", e2e: "off" }
            })
          ),
          (d) => Effect.promise(() => d.close())
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
          const errors: Array<string> = []
          const context = (forwardedFor?: string) =>
            browser.newContext({
              viewport: { width: 1280, height: 800 },
              ignoreHTTPSErrors: true,
              ...(forwardedFor === undefined ? {} : { extraHTTPHeaders: { "x-forwarded-for": forwardedFor } })
            })
          const home = await context()
          const away = await context("203.0.113.7")
          const dave = await context("198.51.100.23")
          const stranger = await context("192.0.2.50")
          for (const c of [home, away]) {
            c.on("page", (p) => {
              p.on("pageerror", (e) => errors.push(e.message))
              p.on("console", (m) => {
                if (/Content.Security.Policy/i.test(m.text())) errors.push(m.text())
              })
            })
          }

          // carol from home, then from a new address; dave elsewhere; a wrong key from a stranger.
          const first = await signIn(home, relay.url, carolKey)
          await first.waitForURL(/\/dashboard$/)
          await signIn(dave, relay.url, daveKey)
          await signIn(stranger, relay.url, "rw_not-a-key-at-all")
          const page = await signIn(away, relay.url, carolKey)
          await page.waitForURL(/\/dashboard$/)
          // The writer appends off the request path: wait until the second sign-in is in the chain.
          await waitFor("carol's second sign-in in her chain", async () => {
            const c = await chain(away, relay.url)
            return c.records.some((r) => r.kind === "auth_ok" && r.detail.client === "203.0.113.7") ? true : undefined
          })
          // dave has no daemon, so no session: his own chain, read with his key.
          const daveChain = await waitFor("dave's sign-in in his chain", async () => {
            const c = await chain(dave, relay.url, daveKey)
            return c.records.some((r) => r.kind === "auth_ok" && r.detail.via === "browser") ? c : undefined
          })

          await page.goto(`${relay.url}/dashboard#/access`)
          await page.locator(".access-row").first().waitFor()
          const rows = await page.locator(".access-row").evaluateAll((els) =>
            els.map((e) => ({
              kind: e.getAttribute("data-kind") ?? "",
              seq: Number(e.getAttribute("data-seq")),
              isNew: e.classList.contains("new-address"),
              client: e.querySelector(".client")?.textContent ?? "",
              label: e.querySelector(".label")?.textContent ?? "",
              text: e.textContent ?? ""
            }))
          )
          const head = await page.locator(".access .rules-head").textContent()
          const tabActive = await page.locator(".tabs .tab.active").textContent()
          await page.screenshot({ path: path.join(artifacts, "dashboard-access-log.png") })

          // A long chain: 210 more requests through the tunnel, so the newest page (200) holds no
          // sign-in and "Load older" brings the rest.
          for (let i = 0; i < 210; i++) await away.request.get(`${relay.url}/health`)
          const long = await waitFor("the 210 requests in carol's chain", async () => {
            const c = await chain(away, relay.url)
            return c.records.filter((r) => r.kind === "request" && r.detail.path === "/health").length >= 211
              ? c
              : undefined
          })
          await page.reload()
          await page.locator(".access-row").first().waitFor()
          const newestPage = await page.locator(".access-row").count()
          const markedOnNewestPage = await page.locator(".access-row.new-address").count()
          await page.locator(".access button.older").click()
          await page.locator(`.access-row[data-seq="1"]`).waitFor()
          const allRows = await page.locator(".access-row").evaluateAll((els) =>
            els.map((e) => Number(e.getAttribute("data-seq")))
          )
          const olderLeft = await page.locator(".access button.older").count()
          const markedAfter = await page.locator(".access-row.new-address .client").allTextContents()
          const paging = { newestPage, markedOnNewestPage, allRows, olderLeft, markedAfter, head: long.head.seq }

          // The daemon's own dashboard: no relay session there, only a note.
          const local = await home.newPage()
          await local.goto(`${daemon.url}/dashboard#/access`)
          const note = await local.locator(".access-local").textContent({ timeout: 10_000 })
          await local.screenshot({ path: path.join(artifacts, "dashboard-access-log-local.png") })
          const body = await page.content()
          return { rows, head, tabActive, note, paging, errors, daveChain, body, carol: await chain(away, relay.url) }
        })

        assert.strictEqual(result.tabActive, "Access log")
        assert.include(result.head ?? "", "carol")
        // Newest first, and exactly carol's chain as the relay has it (up to the moment it was read).
        const seqs = result.rows.map((r) => r.seq)
        assert.deepStrictEqual(seqs, [...seqs].sort((a, b) => b - a))
        assert.isTrue(result.carol.records.every((r) => r.user_id === "carol"))
        const carolSeqs = new Set(result.carol.records.map((r) => r.seq))
        assert.isTrue(seqs.every((s) => carolSeqs.has(s)))
        const kinds = new Set(result.rows.map((r) => r.kind))
        for (const k of ["auth_ok", "session_created", "tunnel_connected"]) assert.isTrue(kinds.has(k), k)
        const signIns = result.rows.filter((r) => r.kind === "auth_ok")
        assert.includeMembers(signIns.map((r) => r.client), ["127.0.0.1", "203.0.113.7"])
        assert.isTrue(signIns.every((r) => r.label === "sign-in ok"))
        // The one sign-in from an address no earlier sign-in came from is marked, and only that one.
        const marked = result.rows.filter((r) => r.isNew)
        assert.strictEqual(marked.length, 1)
        assert.strictEqual(marked[0]!.kind, "auth_ok")
        assert.strictEqual(marked[0]!.client, "203.0.113.7")
        assert.include(marked[0]!.text, "new address")
        assert.isTrue(result.rows.some((r) => r.kind === "tunnel_connected" && r.text.includes("daemon laptop")))
        // Nobody else's records: not dave's sign-in, not the stranger's failed one, nor their addresses.
        assert.isTrue(result.daveChain.records.some((r) => r.kind === "auth_ok"))
        const daveSeqs = result.daveChain.records.map((r) => r.chain)
        assert.isTrue(daveSeqs.every((c) => c === "user:dave"))
        assert.notInclude(result.body, "198.51.100.23")
        assert.notInclude(result.body, "192.0.2.50")
        assert.isFalse(result.rows.some((r) => r.kind === "auth_failed"))
        // No key material anywhere on the page.
        assert.notInclude(result.body, carolKey)
        assert.notInclude(result.body, daveKey)
        // Paging: the newest 200, then everything older down to seq 1, each record once.
        assert.strictEqual(result.paging.newestPage, 200)
        assert.strictEqual(result.paging.markedOnNewestPage, 0)
        assert.isAtLeast(result.paging.allRows.length, result.paging.head)
        assert.strictEqual(new Set(result.paging.allRows).size, result.paging.allRows.length)
        assert.deepStrictEqual(result.paging.allRows, [...result.paging.allRows].sort((a, b) => b - a))
        assert.strictEqual(result.paging.allRows.at(-1), 1)
        assert.strictEqual(result.paging.olderLeft, 0)
        assert.deepStrictEqual(result.paging.markedAfter, ["203.0.113.7"])
        assert.include(result.note ?? "", "lives on the relay")
        assert.deepStrictEqual(result.errors, [])
      }).pipe(Effect.scoped, Effect.provide(relayLayers(tempDir("rw-access-relay-")))),
    90_000
  )
})
