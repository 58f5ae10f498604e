import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import {
  agentSocket,
  as,
  join,
  linked,
  links,
  meshDaemon,
  pair,
  peersOf,
  recordingHop,
  register,
  request,
  until
} from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

/** A relay speaking plain HTTP behind a recording hop: the hop sees all the relay sees. */
const relayWithHop = Effect.gen(function*() {
  const relay = yield* startRelay(cert, { tls: undefined })
  const hop = yield* recordingHop(relay.port)
  return { url: `http://127.0.0.1:${hop.port}`, hop }
})

describe("one mesh across machines", () => {
  it.live(
    "pair and join, remote peers listed, ask → ack with reply across; the relay never sees a text",
    () =>
      Effect.gen(function*() {
        const { hop, url } = yield* relayWithHop
        const key = yield* mintKey("alice")
        const laptop = yield* Effect.acquireRelease(
          Effect.promise(() => meshDaemon(url, key, "laptop")),
          (d) => Effect.promise(() => d.close())
        )
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => meshDaemon(url, key, "server")),
          (d) => Effect.promise(() => d.close())
        )
        yield* Effect.promise(async () => {
          const front = await register(laptop.url, { name: "front", backend: "claude-code" })
          const api = await register(server.url, { name: "api", backend: "codex" })
          const apiSocket = await agentSocket(server, api)

          const code = await pair(laptop)
          const joined = await join(server, code)
          assert.strictEqual(joined.status, 200, joined.text)
          assert.strictEqual(joined.body.machine, "laptop")
          await linked(laptop, "server")
          await linked(server, "laptop")

          // A used code joins nobody, and pins nothing.
          const again = await join(server, code)
          assert.strictEqual(again.status, 403)
          assert.strictEqual(again.body.error.code, "pairing_refused")
          assert.include(again.body.error.message, "already used")

          const remote = await until("api on the laptop", async () =>
            (await peersOf(laptop)).find((p) => p.display_name === "api" && p.machine === "server"))
          assert.strictEqual(remote.peer_id, api.peer_id)

          const secret = "what endpoints does the api have? zebra-7731"
          const asked = await request(laptop.url, "POST", "/ask", {
            headers: as(front),
            body: { from_peer: front.peer_id, to_peer: "api@server", text: secret }
          })
          assert.strictEqual(asked.status, 200, asked.text)
          assert.strictEqual(asked.body.delivery, "delivered")
          const frame = await until("the ask on the server", async () =>
            apiSocket.frames.find((f) => f.type === "ask"))
          assert.strictEqual(frame.text, secret)
          assert.strictEqual(frame.from_name, "front")

          const answer = "GET /users and POST /orders, giraffe-1187"
          const acked = await request(server.url, "POST", "/ack", {
            headers: as(api),
            body: { correlation_id: frame.correlation_id, message: answer }
          })
          assert.strictEqual(acked.status, 200, acked.text)
          const waited = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=10`, {
            headers: as(front)
          })
          assert.strictEqual(waited.body.state, "acked")
          assert.strictEqual(waited.body.reply, answer)

          // Both logs tell of it.
          const serverEvents = (await request(server.url, "GET", "/events?limit=1000")).body.events
          assert.isTrue(
            serverEvents.some((e: { type: string; text?: string }) => e.type === "ask" && e.text === secret)
          )
          const laptopEvents = (await request(laptop.url, "GET", "/events?limit=1000")).body.events
          assert.isTrue(
            laptopEvents.some((e: { type: string; reply?: string }) => e.type === "ack" && e.reply === answer)
          )

          const seen = hop.bytes()
          assert.isAbove(seen.length, 0)
          assert.strictEqual(seen.indexOf("zebra-7731"), -1)
          assert.strictEqual(seen.indexOf("giraffe-1187"), -1)
          apiSocket.close()
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )

  it.live(
    "other daemons: a stolen code after use, another user's daemon, one never paired",
    () =>
      Effect.gen(function*() {
        const { url } = yield* relayWithHop
        const key = yield* mintKey("alice")
        const otherKey = yield* mintKey("mallory")
        const start = (k: string, machine: string) =>
          Effect.acquireRelease(
            Effect.promise(() => meshDaemon(url, k, machine)),
            (d) => Effect.promise(() => d.close())
          )
        const laptop = yield* start(key, "laptop")
        const server = yield* start(key, "server")
        const spare = yield* start(key, "spare")
        const thief = yield* start(otherKey, "thief")
        yield* Effect.promise(async () => {
          const api = await register(server.url, { name: "api", backend: "codex" })
          const front = await register(laptop.url, { name: "front", backend: "claude-code" })
          const code = await pair(laptop)
          assert.strictEqual((await join(server, code)).status, 200)
          await linked(laptop, "server")

          const stolen = await join(thief, code)
          assert.notStrictEqual(stolen.status, 200)
          assert.deepStrictEqual(await links(thief), [])
          const fresh = await join(thief, await pair(laptop))
          assert.strictEqual(fresh.status, 503, "another user's daemon cannot even reach the laptop")
          assert.deepStrictEqual(
            (await links(laptop)).map((l) => l.machine),
            ["server"]
          )

          await until("api on the laptop", async () => (await peersOf(laptop)).find((p) => p.peer_id === api.peer_id))
          const sent = await request(laptop.url, "POST", "/notify", {
            headers: as(front),
            body: { from_peer: front.peer_id, to_peer: "api@server", text: "for the server only, okapi-5521" }
          })
          assert.strictEqual(sent.status, 200, sent.text)
          await new Promise((r) => setTimeout(r, 500))
          for (const stranger of [spare, thief]) {
            assert.deepStrictEqual((await peersOf(stranger)).filter((p) => p.machine !== stranger.machine), [])
            const events = (await request(stranger.url, "GET", "/events?limit=1000")).text
            assert.notInclude(events, "okapi-5521")
          }
        })
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    60_000
  )
})
