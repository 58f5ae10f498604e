import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { as, human, join, links, meshDaemon, notify, pair, peersOf, register, request, until } from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("one mesh across machines: addressing, scope and rules", () => {
  it.live(
    "bare names (409 with the choices), broadcast scope, the receiver's machine: rule, and removal on both sides",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(relay.url, key, "laptop")
          const server = await meshDaemon(relay.url, key, "server")
          try {
            const front = await register(laptop.url, { name: "front", backend: "claude-code" })
            await register(server.url, { name: "api", backend: "codex" })
            assert.strictEqual((await join(server, await pair(laptop))).status, 200)
            await until(
              "api on the laptop",
              async () => (await peersOf(laptop)).find((p) => p.display_name === "api" && p.machine === "server")
            )
            const bare = await notify(laptop.url, front, "api", "to the only api")
            assert.strictEqual(bare.status, 200, bare.text)

            await register(laptop.url, { name: "api", backend: "gemini" })
            const ambiguous = await notify(laptop.url, front, "api", "which one?")
            assert.strictEqual(ambiguous.status, 409)
            assert.include(ambiguous.body.error.message, "api@laptop")
            assert.include(ambiguous.body.error.message, "api@server")
            assert.strictEqual((await notify(laptop.url, front, "api@laptop", "the local one")).status, 200)

            // A broadcast stays on its machine unless it asks for the mesh.
            const broadcast = (text: string, scope?: string) =>
              request(laptop.url, "POST", "/broadcast", {
                headers: as(front as never),
                body: { from_peer: front.peer_id, text, ...(scope === undefined ? {} : { scope }) }
              })
            const local = await broadcast("local news")
            assert.strictEqual(local.status, 200, local.text)
            assert.deepStrictEqual([...local.body.delivered, ...local.body.queued], ["api"])
            const wide = await broadcast("mesh news, ibis-4410", "mesh")
            assert.deepStrictEqual([...wide.body.delivered, ...wide.body.queued].sort(), ["api", "api"])
            await until("the mesh broadcast on the server", async () =>
              (await request(server.url, "GET", "/events?limit=1000")).text.includes("ibis-4410") ? true : undefined)
            assert.notInclude((await request(server.url, "GET", "/events?limit=1000")).text, "local news")

            // The receiving daemon's access rules decide, by machine.
            fs.writeFileSync(
              `${server.home}/policy.yaml`,
              "default: allow\nrules:\n  - effect: deny\n    from: \"machine:laptop\"\n    actions: [notify]\n",
              { mode: 0o600 }
            )
            await until("the server's rule in force", async () =>
              (await request(server.url, "GET", "/health")).body.policy.rules === 1 ? true : undefined)
            assert.strictEqual((await notify(laptop.url, front, "api@server", "denied, heron-9902")).status, 200)
            await until("the denial on the server", async () =>
              (await request(server.url, "GET", "/events?limit=1000")).body.events.find((e: { type: string }) =>
                e.type === "policy_denied"
              ))
            const serverLog = (await request(server.url, "GET", "/events?limit=1000")).text
            assert.notInclude(serverLog, "heron-9902")

            const removed = await request(laptop.url, "DELETE", "/mesh/links/server", human(laptop))
            assert.strictEqual(removed.status, 200, removed.text)
            await until("the server forgets the laptop", async () => {
              const peers = await peersOf(server)
              const serverLinks = await links(server)
              return serverLinks.length === 0 && !peers.some((p) =>
                  p.machine === "laptop"
                )
                ? true
                : undefined
            })
            assert.isFalse((await peersOf(laptop)).some((p) =>
              p.machine === "server"
            ))
            assert.strictEqual((await notify(laptop.url, front, "api@server", "gone")).status, 404)
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )
})
