import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { agentSocket, as, askDelivered, frontAndApi, lossyHop, meshDaemon, request, settle } from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("one mesh across machines: receipts", () => {
  it.live(
    "a receipt lost after the receiver's agent got the ask: the ask stays queued on the sender, is sent again with the next session, and is answered with its receipt, not delivered twice",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        const hop = yield* lossyHop(Number(new URL(relay.url).port))
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(relay.url, key, "laptop")
          const server = await meshDaemon(`https://127.0.0.1:${hop.port}`, key, "server")
          try {
            const { front, api, socket } = await frontAndApi(laptop, server)

            // Whatever the server sends from now on is lost: the ask still reaches its agent.
            hop.swallow(true)
            const asked = await request(laptop.url, "POST", "/ask", {
              headers: as(front as never),
              body: { from_peer: front.peer_id, to_peer: "api@server", text: "is the build green?" }
            })
            assert.strictEqual(asked.status, 200, asked.text)
            const frame = await socket.next((f) => f.text === "is the build green?")
            await askDelivered(server, api as never, frame.correlation_id as string)
            const onLaptop = `/asks/${asked.body.correlation_id}`
            await settle(300)
            const meanwhile = (await request(laptop.url, "GET", onLaptop, { headers: as(front as never) })).body
            assert.strictEqual(meanwhile.state, "queued", "no receipt came, so the sender keeps it queued")

            // The sessions break and come back: the sender sends the ask again, the receiver answers with its receipt.
            hop.swallow(false)
            hop.cut()
            await askDelivered(laptop, front as never, asked.body.correlation_id, 20_000)
            await settle(300)
            assert.strictEqual(socket.frames.filter((f) => f.text === "is the build green?").length, 1)
            const inbound = (await request(server.url, "GET", `/asks?peer=${api.peer_id}&direction=inbound`, {
              headers: as(api as never)
            })).body
            assert.strictEqual(
              inbound.asks.filter((a: { text: string }) => a.text === "is the build green?").length,
              1,
              JSON.stringify(inbound)
            )
            socket.close()
          } finally {
            await laptop.close()
            await server.close()
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )

  it.live(
    "a receiver that stops after its agent got the ask, before the receipt left: after it restarts the sender marks it delivered, and the agent does not get it again",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("alice")
        const hop = yield* lossyHop(Number(new URL(relay.url).port))
        yield* Effect.promise(async () => {
          const laptop = await meshDaemon(relay.url, key, "laptop")
          let server = await meshDaemon(`https://127.0.0.1:${hop.port}`, key, "server")
          try {
            const cast = await frontAndApi(laptop, server)
            const { front, api } = cast
            let socket = cast.socket

            hop.swallow(true)
            const asked = await request(laptop.url, "POST", "/ask", {
              headers: as(front as never),
              body: { from_peer: front.peer_id, to_peer: "api@server", text: "deploy done?" }
            })
            const frame = await socket.next((f) => f.text === "deploy done?")
            await askDelivered(server, api as never, frame.correlation_id as string)
            socket.close()
            await server.close()
            hop.swallow(false)

            server = await meshDaemon(`https://127.0.0.1:${hop.port}`, key, "server", server.home)
            socket = await agentSocket(server, api)
            await askDelivered(laptop, front as never, asked.body.correlation_id, 20_000)
            await settle(300)
            assert.deepStrictEqual(socket.frames.filter((f) => f.text === "deploy done?"), [])
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
