import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { buildDashboard } from "../../dashboard/build.mjs"
import { join, linked, meshDaemon, pair, peersOf, register, until } from "../mesh/meshHarness.js"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { artifacts, launchChromium } from "./e2eHelpers.js"

// The dashboard of one of two linked daemons, in a real headless Chromium: peers of both
// machines, the same name on each, told apart by their machine.

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("dashboard: peers of linked machines", () => {
  it.live(
    "shows each peer's name and its machine, apart, in the list, the peer page and the composer",
    () =>
      Effect.gen(function*() {
        yield* Effect.promise(async () => {
          await fs.mkdir(artifacts, { recursive: true })
          await buildDashboard({ quiet: true })
        })
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        const laptop = yield* Effect.acquireRelease(
          Effect.promise(() => meshDaemon(relay.url, key, "laptop")),
          (d) => Effect.promise(() => d.close())
        )
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => meshDaemon(relay.url, key, "build-server-with-a-long-name")),
          (d) => Effect.promise(() => d.close())
        )
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() => launchChromium()),
          (b) => Effect.promise(() => b.close())
        )
        yield* Effect.promise(async () => {
          await register(laptop.url, { name: "api", backend: "claude-code" })
          const remote = await register(server.url, {
            name: "api-gateway-for-the-orders-and-payments-service",
            backend: "codex"
          })
          await register(server.url, { name: "api", backend: "codex" })
          assert.strictEqual((await join(server, await pair(laptop))).status, 200)
          await linked(laptop, "build-server-with-a-long-name")
          await until("the server's peers on the laptop", async () =>
            (await peersOf(laptop)).filter((p) =>
                p.machine === "build-server-with-a-long-name"
              ).length === 2
              ? true
              : undefined)

          const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
          await page.goto(`${laptop.url}/dashboard`)
          const local = page.locator(".peer[data-peer=api][data-machine=laptop]")
          const far = page.locator(".peer[data-peer=api][data-machine=build-server-with-a-long-name]")
          await local.waitFor()
          await far.waitFor()
          assert.strictEqual(await local.locator(".name").textContent(), "api")
          assert.strictEqual(await local.locator(".machine").textContent(), "@laptop")
          assert.strictEqual(await far.locator(".machine").textContent(), "@build-server-with-a-long-name")

          // A long name is cut on screen; its machine, on a line of its own, stays whole.
          const long = page.locator(`.peer a[href*="${remote.peer_id}"]`)
          const machine = long.locator(".machine")
          assert.isTrue(await machine.isVisible())
          const [machineBox, sideBox] = await Promise.all([machine.boundingBox(), page.locator(".side").boundingBox()])
          assert.isAtMost(machineBox!.x + machineBox!.width, sideBox!.x + sideBox!.width, "inside the list")
          assert.isTrue(
            await machine.evaluate((e) => e.scrollWidth <= e.clientWidth),
            "not cut"
          )
          assert.isTrue(await long.locator(".name").evaluate((e) => e.scrollWidth > e.clientWidth), "the long name is")
          await page.screenshot({ path: path.join(artifacts, "dashboard-mesh-peers.png") })

          await far.locator("a").click()
          const head = page.locator(".peer-head")
          await head.waitFor()
          assert.include(await head.locator(".machine").textContent(), "on build-server-with-a-long-name")
          assert.include(await head.textContent(), "Ask api@build-server-with-a-long-name")

          await page.goto(`${laptop.url}/dashboard#/compose`)
          const options = await page.locator("select[name=to] option").allTextContents()
          assert.isTrue(options.some((o) => o.startsWith("api@laptop ")), options.join(" | "))
          assert.isTrue(options.some((o) => o.startsWith("api@build-server-with-a-long-name ")), options.join(" | "))
          await page.close()
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    120_000
  )
})
