import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { build } from "esbuild"
import { chromium } from "playwright-core"
import { CHROMIUM_ARGS } from "../dashboard/e2eHelpers.js"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, register, request as local } from "../support/Http.js"

// Chromium on the relay's origin, signed in with a relay key: the browser side of the sealed
// tunnel, bundled as the dashboard will bundle it, pairs and reads the daemon through the channel.
const cert = makeCert(tempDir("rw-sealed-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("the sealed channel in Chromium", () => {
  it.live("pairs through the relay, then reads peers and live events sealed", () =>
    Effect.gen(function*() {
      const bundle = yield* Effect.promise(() =>
        build({
          entryPoints: [new URL("./channelEntry.ts", import.meta.url).pathname],
          bundle: true,
          write: false,
          format: "iife",
          platform: "browser",
          target: "chrome120"
        })
      )
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("carol")
      const daemon = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startDaemon({ relay: { enabled: true, url: relay.url, api_key: key, daemon_id: "laptop", e2e: "required" } })
        ),
        (d) => Effect.promise(() => d.close())
      )
      const agent = yield* Effect.promise(() =>
        register(daemon.url, { name: "zq-sealed-agent", backend: "codex", description: "seen only sealed" })
      )
      for (let i = 0;; i++) {
        const h = yield* Effect.promise(() => local(daemon.url, "GET", "/health"))
        if (h.body?.relay?.status === "connected") break
        if (i > 200) return yield* Effect.dieMessage("the relay link never came up")
        yield* Effect.sleep("25 millis")
      }
      const ticket = (yield* Effect.promise(() =>
        local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })
      )).body
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
        // The pair page forbids every script; the test's own bundle is let in past its CSP.
        const page = await browser.newPage({ ignoreHTTPSErrors: true, bypassCSP: true })
        await page.goto(`${relay.url}/`)
        await page.locator("input[name=key]").fill(key)
        await page.locator("form button[type=submit]").click()
        await page.waitForURL(/\/dashboard$/)
        const pairPage = await page.content()
        await page.addScriptTag({ content: bundle.outputFiles[0]!.text })
        return {
          pairPage,
          sealed: await page.evaluate(
            ([secret, to, until]) => (globalThis as any).sealedWire.run(secret, to, until),
            [ticket.secret as string, agent.peer_id, "zq live through the seal"]
          )
        }
      })
      assert.include(result.pairPage, "repowire relay pair")
      assert.notInclude(result.pairPage, "zq-sealed-agent")
      assert.isFalse(result.sealed.extractable)
      assert.strictEqual(result.sealed.fingerprint, ticket.daemon_fingerprint)
      assert.strictEqual(result.sealed.peers.status, 200)
      assert.strictEqual(result.sealed.sent, 200)
      assert.include(result.sealed.peers.body, "zq-sealed-agent")
      assert.include(result.sealed.peers.body, "seen only sealed")
      assert.include(result.sealed.live, "zq live through the seal")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 90_000)
})
