import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { mintKey, RelayServicesLayer, startRelay } from "../relay/harness.js"
import type { Registered } from "../support/Http.js"
import { as, askDelivered, frontAndApi, lossyHop, meshDaemon, request, settle, until } from "./meshHarness.js"

const upload = async (url: string, peer: Registered, name: string, bytes: Uint8Array) => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), name)
  const reply = await fetch(`${url}/attachments`, { method: "POST", body: form, headers: as(peer as never) })
  assert.strictEqual(reply.status, 201, await reply.clone().text())
  return ((await reply.json()) as { attachments: Array<{ id: string }> }).attachments[0]!.id
}

/** Folders of stored files (one per attachment) in a daemon's home. */
const storedFiles = (home: string) =>
  fs.existsSync(`${home}/attachments`) ? fs.readdirSync(`${home}/attachments`).filter((f) => f.startsWith("att-")) : []

describe("one mesh across machines: a session that breaks during a file", () => {
  it.live(
    "the ask stays queued, goes again in full with the next session, and arrives once with identical bytes and one stored copy",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
        const key = yield* mintKey("alice")
        const hop = yield* lossyHop(relay.port)
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(relay.url, key, "laptop")
          const server = await meshDaemon(`http://127.0.0.1:${hop.port}`, key, "server")
          try {
            const { front, socket } = await frontAndApi(laptop, server)

            // 16 parts of 256 KiB; the server's sessions are cut once about a third of them came.
            const content = crypto.randomBytes(4 * 1024 * 1024)
            const id = await upload(laptop.url, front, "trace-wombat-5521.bin", content)
            const cut = hop.cutAfter(1.5 * 1024 * 1024)
            const asked = await request(laptop.url, "POST", "/ask", {
              headers: as(front as never),
              body: { from_peer: front.peer_id, to_peer: "api@server", text: "look at the trace", attachments: [id] }
            })
            assert.strictEqual(asked.status, 200, asked.text)
            await cut
            assert.deepStrictEqual(
              socket.frames.filter((f) => f.text === "look at the trace"),
              [],
              "cut before the ask came"
            )
            const onLaptop = `/asks/${asked.body.correlation_id}`
            const meanwhile = (await request(laptop.url, "GET", onLaptop, { headers: as(front as never) })).body
            assert.strictEqual(meanwhile.state, "queued")

            const frame = await until("the ask on the server", async () =>
              socket.frames.find((f) => f.text === "look at the trace"), 30_000)
            const [ref] = frame.attachments as Array<{ size: number; path: string }>
            assert.strictEqual(ref!.size, content.length)
            assert.isTrue(Buffer.from(fs.readFileSync(ref!.path)).equals(content), "identical bytes")
            await askDelivered(laptop, front as never, asked.body.correlation_id)
            await settle(300)
            assert.strictEqual(
              socket.frames.filter((f) =>
                f.text === "look at the trace"
              ).length,
              1
            )
            // The parts of the broken attempt were dropped, not kept beside the whole file.
            assert.strictEqual(storedFiles(server.home).length, 1, JSON.stringify(storedFiles(server.home)))
            socket.close()
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    90_000
  )
})
