import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import {
  agentSocket,
  as,
  askDelivered,
  frontAndApi,
  human,
  join,
  links,
  meshDaemon,
  notify,
  pair,
  peersOf,
  register,
  request,
  settle,
  until
} from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("one mesh across machines: while a daemon is away", () => {
  it.live(
    "a notify is queued, then delivered once when the receiver returns, and when the sender restarted meanwhile",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          let laptop = await meshDaemon(relay.url, key, "laptop")
          let server = await meshDaemon(relay.url, key, "server")
          try {
            const cast = await frontAndApi(laptop, server)
            const { front, api } = cast
            let socket = cast.socket

            // The receiver goes away: the sender says queued, and keeps the message.
            socket.close()
            await server.close()
            await until("api offline on the laptop", async () =>
              (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id && p.status === "offline"))
            const first = await notify(laptop.url, front, "api@server", "first while away")
            assert.strictEqual(first.status, 200, first.text)
            assert.strictEqual(first.body.delivery, "queued")

            server = await meshDaemon(relay.url, key, "server", server.home)
            socket = await agentSocket(server, api)
            await until("the first message on the server", async () =>
              socket.frames.find((f) =>
                f.text === "first while away"
              ))
            await until("its receipt on the laptop", async () => {
              const events = (await request(laptop.url, "GET", "/events?limit=1000")).body.events
              return events.find((e: { type: string; message_id?: string; state?: string }) =>
                e.type === "delivery" && e.message_id === first.body.id && e.state === "delivered"
              )
            })

            // Now the sender restarts while a message waits for the receiver.
            socket.close()
            await server.close()
            await until("api offline on the laptop", async () =>
              (await peersOf(laptop)).find((p) =>
                p.peer_id === api.peer_id && p.status === "offline"
              ))
            const second = await notify(laptop.url, front, "api@server", "second while away")
            assert.strictEqual(second.body.delivery, "queued")
            await laptop.close()
            laptop = await meshDaemon(relay.url, key, "laptop", laptop.home)
            server = await meshDaemon(relay.url, key, "server", server.home)
            socket = await agentSocket(server, api)
            await until("the second message on the server", async () =>
              socket.frames.find((f) =>
                f.text === "second while away"
              ))
            await settle(1500)
            const texts = socket.frames.map((f) =>
              f.text
            )
            assert.deepStrictEqual(texts.filter((t) => t === "second while away"), ["second while away"])
            assert.notInclude(texts, "first while away")
            const serverEvents = (await request(server.url, "GET", "/events?limit=1000")).body.events
            const notifies = serverEvents.filter((e: { type: string; text?: string }) =>
              e.type === "notify" && (e.text === "first while away" || e.text === "second while away")
            )
            assert.strictEqual(notifies.length, 2)
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
    "a link removed while the other daemon was away stays ended when it returns: its records are refused",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(relay.url, key, "laptop")
          let server = await meshDaemon(relay.url, key, "server")
          try {
            const front = await register(laptop.url, { name: "front", backend: "claude-code" })
            const api = await register(server.url, { name: "api", backend: "codex" })
            assert.strictEqual((await join(server, await pair(laptop))).status, 200)
            await until(
              "front on the server",
              async () => (await peersOf(server)).find((p) => p.peer_id === front.peer_id && p.status !== "offline")
            )
            await server.close()
            const removed = await request(laptop.url, "DELETE", "/mesh/links/server", human(laptop))
            assert.strictEqual(removed.status, 200, removed.text)

            server = await meshDaemon(relay.url, key, "server", server.home)
            await settle(4000) // past a session retry on either side
            const serverLinks = await links(server)
            assert.deepStrictEqual(serverLinks.map((l: { status: string }) => l.status), ["connecting"])
            const sent = await notify(server.url, api, "front@laptop", "after the removal, quail-6612")
            assert.strictEqual(sent.status, 200, sent.text)
            assert.strictEqual(sent.body.delivery, "queued")
            await settle(500)
            assert.notInclude((await request(laptop.url, "GET", "/events?limit=1000")).text, "quail-6612")
            assert.isFalse((await peersOf(laptop)).some((p) => p.machine === "server"))
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )

  it.live(
    "an ack made while the asker's daemon is away reaches the asker when it returns",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        yield* Effect.promise(async () => {
          let laptop = await meshDaemon(relay.url, key, "laptop")
          const server = await meshDaemon(relay.url, key, "server")
          try {
            const front = await register(laptop.url, { name: "front", backend: "claude-code" })
            const api = await register(server.url, { name: "api", backend: "codex" })
            const socket = await agentSocket(server, api)
            assert.strictEqual((await join(server, await pair(laptop))).status, 200)
            await until(
              "api on the laptop",
              async () => (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id && p.status !== "offline")
            )
            const asked = await request(laptop.url, "POST", "/ask", {
              headers: as(front as never),
              body: { from_peer: front.peer_id, to_peer: "api@server", text: "still there?" }
            })
            const frame = await socket.next((f) => f.text === "still there?")
            await askDelivered(laptop, front as never, asked.body.correlation_id)

            await laptop.close()
            const acked = await request(server.url, "POST", "/ack", {
              headers: as(api as never),
              body: { correlation_id: frame.correlation_id, message: "yes, here" }
            })
            assert.strictEqual(acked.status, 200, acked.text)
            laptop = await meshDaemon(relay.url, key, "laptop", laptop.home)
            const waited = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=15`, {
              headers: as(front as never)
            })
            assert.strictEqual(waited.body.state, "acked")
            assert.strictEqual(waited.body.reply, "yes, here")
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
