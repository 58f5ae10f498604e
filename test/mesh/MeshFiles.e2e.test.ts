import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import type { Registered } from "../support/Http.js"
import { agentSocket, as, frontAndApi, meshDaemon, peersOf, recordingHop, request, until } from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

/** The server takes files of at most this many bytes; the laptop keeps its default (10 MiB). */
const SERVER_MAX = 1024 * 1024

const upload = async (url: string, peer: Registered, name: string, bytes: Uint8Array) => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), name)
  const reply = await fetch(`${url}/attachments`, { method: "POST", body: form, headers: as(peer as never) })
  assert.strictEqual(reply.status, 201, await reply.clone().text())
  return ((await reply.json()) as { attachments: Array<{ id: string }> }).attachments[0]!.id
}

const ask = (url: string, from: Registered, to: string, text: string, attachments: ReadonlyArray<string>) =>
  request(url, "POST", "/ask", {
    headers: as(from as never),
    body: { from_peer: from.peer_id, to_peer: to, text, attachments }
  })

/** Folders of stored files (one per attachment) in a daemon's home. */
const storedFiles = (home: string) =>
  fs.existsSync(`${home}/attachments`) ? fs.readdirSync(`${home}/attachments`).filter((f) => f.startsWith("att-")) : []

describe("one mesh across machines: attachments", () => {
  it.live(
    "a file travels sealed with its ask (identical bytes), over the limit fails cleanly, and waits for a receiver that restarts",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { tls: undefined })
        const hop = yield* recordingHop(relay.port)
        const url = `http://127.0.0.1:${hop.port}`
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(url, key, "laptop")
          let server = await meshDaemon(url, key, "server", undefined, { attachments: { max_bytes: SERVER_MAX } })
          try {
            const cast = await frontAndApi(laptop, server)
            const { front, api } = cast
            let socket = cast.socket

            // Several parts' worth of bytes, under the server's limit.
            const content = crypto.randomBytes(700 * 1024)
            const name = "design-quokka-3391.bin"
            const id = await upload(laptop.url, front, name, content)
            const asked = await ask(laptop.url, front, "api@server", "see the file", [id])
            assert.strictEqual(asked.status, 200, asked.text)
            const frame = await until("the ask on the server", async () =>
              socket.frames.find((f) => f.type === "ask" && f.text === "see the file"))
            const [ref] = frame.attachments as Array<{ id: string; name: string; size: number; path: string }>
            assert.strictEqual(ref!.name, name)
            assert.strictEqual(ref!.size, content.length)
            assert.isTrue(ref!.path.startsWith(server.home), "the file is stored on the server")
            assert.isTrue(Buffer.from(fs.readFileSync(ref!.path)).equals(content), "identical bytes")
            await until("the laptop's ask delivered", async () => {
              const got = await request(laptop.url, "GET", `/asks/${asked.body.correlation_id}`, { headers: as(front) })
              return got.body.state === "delivered" ? true : undefined
            })

            // The answer carries a file back: stored on the laptop, identical bytes, with the reply.
            const answer = crypto.randomBytes(400 * 1024)
            const answerId = await upload(server.url, api, "answer-wombat-5512.bin", answer)
            const acked = await request(server.url, "POST", "/ack", {
              headers: as(api),
              body: { correlation_id: frame.correlation_id, message: "here is mine", attachments: [answerId] }
            })
            assert.strictEqual(acked.status, 200, acked.text)
            const replied = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=15`, {
              headers: as(front)
            })
            assert.strictEqual(replied.body.state, "acked", replied.text)
            assert.strictEqual(replied.body.reply, "here is mine")
            const [back] = replied.body.reply_attachments as Array<{ name: string; size: number; path: string }>
            assert.strictEqual(back!.name, "answer-wombat-5512.bin")
            assert.isTrue(back!.path.startsWith(laptop.home), "the reply's file is stored on the laptop")
            assert.isTrue(Buffer.from(fs.readFileSync(back!.path)).equals(answer), "identical bytes back")

            // The relay carried none of it: not the names, not the bytes (raw or base64), either way.
            const seen = hop.bytes()
            assert.strictEqual(seen.indexOf("quokka-3391"), -1)
            assert.strictEqual(seen.indexOf(content.subarray(1000, 1064)), -1)
            assert.strictEqual(seen.indexOf(content.subarray(3000, 3048).toString("base64")), -1)
            assert.strictEqual(seen.indexOf("wombat-5512"), -1)
            assert.strictEqual(seen.indexOf(answer.subarray(2000, 2064)), -1)
            assert.strictEqual(seen.indexOf(answer.subarray(5000, 5048).toString("base64")), -1)

            // Over the server's limit: a clear failure on the laptop, nothing stored on the server.
            const before = storedFiles(server.home)
            const big = await upload(laptop.url, front, "big.bin", crypto.randomBytes(SERVER_MAX + 4096))
            const tooBig = await ask(laptop.url, front, "api@server", "a big one", [big])
            assert.strictEqual(tooBig.status, 200, tooBig.text)
            const waited = await request(laptop.url, "POST", `/asks/${tooBig.body.correlation_id}/wait?timeout=10`, {
              headers: as(front)
            })
            assert.strictEqual(waited.body.state, "failed", waited.text)
            assert.include(waited.body.failure, "PayloadTooLarge")
            assert.include(waited.body.failure, `${SERVER_MAX}`)
            assert.deepStrictEqual(storedFiles(server.home), before)
            assert.isUndefined(socket.frames.find((f) =>
              f.text === "a big one"
            ))

            // The receiver is away: the ask waits, queued, and its file arrives when it returns.
            socket.close()
            await server.close()
            await until("api offline on the laptop", async () =>
              (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id && p.status === "offline"))
            const later = crypto.randomBytes(300 * 1024)
            const laterId = await upload(laptop.url, front, "later.bin", later)
            const queued = await ask(laptop.url, front, "api@server", "while you were away", [laterId])
            assert.strictEqual(queued.body.delivery, "queued")
            server = await meshDaemon(url, key, "server", server.home, { attachments: { max_bytes: SERVER_MAX } })
            socket = await agentSocket(server, api)
            const arrived = await until("the queued ask on the server", async () =>
              socket.frames.find((f) =>
                f.text === "while you were away"
              ), 20_000)
            const [laterRef] = arrived.attachments as Array<{ path: string }>
            assert.isTrue(Buffer.from(fs.readFileSync(laterRef!.path)).equals(later))
            await new Promise((r) =>
              setTimeout(r, 500)
            )
            assert.strictEqual(socket.frames.filter((f) => f.text === "while you were away").length, 1, "once")
            socket.close()
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    90_000
  )

  it.live(
    "a reply's file over the asker's limits is dropped there, and the ack still lands saying why",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert, { tls: undefined })
        const url = `http://127.0.0.1:${relay.port}`
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(url, key, "laptop", undefined, { attachments: { max_bytes: 128 * 1024 } })
          const server = await meshDaemon(url, key, "server")
          try {
            const { front, api, socket } = await frontAndApi(laptop, server)
            const asked = await ask(laptop.url, front, "api@server", "send me the dump", [])
            const frame = await until("the ask on the server", async () => socket.frames.find((f) => f.type === "ask"))
            const before = storedFiles(laptop.home)
            const dump = await upload(server.url, api, "dump.bin", crypto.randomBytes(200 * 1024))
            const acked = await request(server.url, "POST", "/ack", {
              headers: as(api),
              body: { correlation_id: frame.correlation_id, message: "the dump", attachments: [dump] }
            })
            assert.strictEqual(acked.status, 200, acked.text)
            const replied = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=15`, {
              headers: as(front)
            })
            assert.strictEqual(replied.body.state, "acked", replied.text)
            assert.include(replied.body.reply, "the dump")
            assert.include(replied.body.reply, "PayloadTooLarge")
            assert.deepStrictEqual(replied.body.reply_attachments, [])
            assert.deepStrictEqual(storedFiles(laptop.home), before, "nothing of it stored on the laptop")
            socket.close()
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )
})
