import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type WebSocket from "ws"
import { STREAM_WINDOW } from "../../src/protocol/sealed/Channel.js"
import { SealedChannel } from "../../src/protocol/sealed/ChannelClient.js"
import { generateKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, request as local } from "../support/Http.js"
import { loginPlain, openSocket, pairThroughRelay } from "./wire.js"

const SIZE = 100 * 1024 * 1024

/** SIZE bytes, one MiB at a time, each MiB a different byte; their SHA-256. */
const writeBigFile = async (file: string) => {
  const hash = createHash("sha256")
  const handle = await fs.promises.open(file, "w")
  for (let i = 0; i < SIZE / (1024 * 1024); i++) {
    const chunk = new Uint8Array(1024 * 1024).fill(i & 255)
    hash.update(chunk)
    await handle.write(chunk)
  }
  await handle.close()
  return hash.digest("hex")
}

describe("a sealed download", () => {
  it.live("100 MiB through the relay arrives whole, streamed under the browser's credit", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
      const key = yield* mintKey("carol")
      const daemon = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startDaemon({
            relay: {
              enabled: true,
              url: relay.url.replace(/^http/, "ws"),
              api_key: key,
              daemon_id: "laptop",
              e2e: "required"
            },
            daemon: { attachments: { max_bytes: 128 * 1024 * 1024 } }
          })
        ),
        (d) => Effect.promise(() => d.close())
      )
      // The file is made on disk and uploaded from there: nothing of it stays in this process's memory.
      const file = path.join(tempDir("rw-big-"), "big.bin")
      const expected = yield* Effect.promise(() => writeBigFile(file))
      const form = new FormData()
      form.append("file", yield* Effect.promise(() => fs.openAsBlob(file)), "big.bin")
      const uploaded = yield* Effect.promise(async () =>
        (await (await fetch(`${daemon.url}/attachments`, { method: "POST", body: form })).json()) as any
      )
      const id = uploaded.attachments[0].id as string
      for (let i = 0;; i++) {
        const h = yield* Effect.promise(() => local(daemon.url, "GET", "/health"))
        if (h.body?.relay?.status === "connected") break
        if (i > 200) return yield* Effect.dieMessage("the relay link never came up")
        yield* Effect.sleep("25 millis")
      }
      const cookie = yield* loginPlain(relay.url, key)
      const ticket = yield* Effect.promise(() =>
        local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })
      )
      const browser = yield* generateKeyPair()
      const paired = yield* Effect.promise(() => pairThroughRelay(relay.url, cookie, ticket.body.secret, browser))

      const socket = yield* Effect.promise(() => openSocket(relay.url, cookie))
      let received = 0
      ;(socket as unknown as WebSocket).on("message", (data: ArrayBuffer) => (received += data.byteLength))
      const channel = yield* Effect.promise(() => SealedChannel.open(socket, browser, paired.daemonKey))

      const started = performance.now()
      const result = yield* Effect.promise(async () => {
        const res = await channel.fetch(`/attachments/${id}`)
        const hash = createHash("sha256")
        let bytes = 0
        let heldWhilePaused = 0
        const reader = res.body.getReader()
        while (true) {
          const { done, value } = await reader.read()
          if (done) break
          bytes += value.length
          hash.update(value)
          if (bytes >= 10 * 1024 * 1024 && heldWhilePaused === 0) {
            // A browser that stops reading: the daemon stops at the stream's window.
            await new Promise((r) => setTimeout(r, 400))
            heldWhilePaused = received - bytes
          }
        }
        return { status: res.status, bytes, digest: hash.digest("hex"), heldWhilePaused }
      })
      const seconds = (performance.now() - started) / 1000
      console.log(`sealed 100 MiB: ${seconds.toFixed(2)} s; held while paused: ${result.heldWhilePaused} bytes`)
      assert.deepStrictEqual({ ...result, heldWhilePaused: 0 }, {
        status: 200,
        bytes: SIZE,
        digest: expected,
        heldWhilePaused: 0
      })
      // The window, plus each record's 34 bytes of framing, plus the records of the daemon's other messages.
      assert.isBelow(result.heldWhilePaused, STREAM_WINDOW + 64 * 1024)
      channel.close()
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 120_000)
})
