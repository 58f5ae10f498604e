import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { build } from "esbuild"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { DevicesLive } from "../../src/layers/sealed/DevicesLive.js"
import { SealedIdentityMemory } from "../../src/layers/sealed/IdentityLive.js"
import { PairingLive } from "../../src/layers/sealed/PairingLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { fromBase64Url, fromHex, toHex } from "../../src/protocol/sealed/Bytes.js"
import { Devices } from "../../src/services/Devices.js"
import { Pairing } from "../../src/services/Pairing.js"
import { SealedIdentity } from "../../src/services/SealedIdentity.js"
import { launchChromium } from "../dashboard/e2eHelpers.js"

/**
 * The sealed modules in Chromium, bundled as the dashboard will bundle them: the published
 * vectors byte for byte there too, and a pairing between the browser's WebCrypto and the
 * daemon's Pairing service in Node.
 */
const fixture = JSON.parse(readFileSync(new URL("./fixtures/noise-vectors.json", import.meta.url), "utf8")) as {
  readonly vectors: ReadonlyArray<{ readonly messages: ReadonlyArray<{ readonly ciphertext: string }> }>
}

let browser: Browser
let page: Page
let server: http.Server

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL("./browserEntry.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "chrome120"
  })
  const script = bundle.outputFiles[0]!.text
  // Served from 127.0.0.1: a secure context, where WebCrypto is available.
  server = http.createServer((req, res) => {
    if (req.url === "/sealed.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script)
    else res.writeHead(200, { "content-type": "text/html" }).end(`<script src="/sealed.js"></script>`)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  browser = await launchChromium()
  page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  await page.waitForFunction(() => "sealed" in globalThis)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  server?.close()
})

const layer = Layer.mergeAll(PairingLive, DevicesLive).pipe(
  Layer.provideMerge(SealedIdentityMemory),
  Layer.provideMerge(SqliteMemory)
)

describe("the sealed modules in Chromium", () => {
  it("write every vector's messages byte for byte", async () => {
    const written = await page.evaluate((vectors) => (globalThis as any).sealed.vectors(vectors), fixture.vectors)
    assert.deepStrictEqual(written, fixture.vectors.map((v) => v.messages.map((m) => m.ciphertext)))
  }, 30_000)

  it.effect("pair a non-extractable browser key with the daemon's Pairing service", () =>
    Effect.gen(function*() {
      const pairing = yield* Pairing
      const ticket = yield* pairing.mint
      const secret = Redacted.value(ticket.secret)
      const secretId = secret.split(".")[0]!
      const call = <A>(f: () => Promise<A>) => Effect.promise(f)
      const first = yield* call(() => page.evaluate((s) => (globalThis as any).sealed.pairStart(s), secret))
      const reply = yield* pairing.begin(secretId, fromBase64Url(first as string)!)
      const last = yield* call(() =>
        page.evaluate(([r, label]) => (globalThis as any).sealed.pairLast(r, label), [toHex(reply), "Chromium"])
      )
      const done = yield* pairing.finish(secretId, fromHex(last as string))
      assert.strictEqual(done.device.label, "Chromium")
      const confirmed = yield* call(() =>
        page.evaluate((c) => (globalThis as any).sealed.pairConfirm(c), toHex(done.confirmation))
      )
      assert.deepStrictEqual(JSON.parse(confirmed as string), {
        device_id: done.device.id,
        daemon_fingerprint: (yield* SealedIdentity).fingerprint
      })
      assert.deepStrictEqual((yield* Effect.flatMap(Devices, (d) => d.list)).map((d) => d.id), [done.device.id])
    }).pipe(Effect.provide(layer)), 30_000)
})
