import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { loadLoaderPage } from "../../src/programs/daemon/LoaderPage.js"
import { SealedChannel } from "../../src/protocol/sealed/ChannelClient.js"
import { generateKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, register, request as local } from "../support/Http.js"
import {
  loginPlain,
  openChannel,
  openSocket,
  pairThroughRelay,
  readAll,
  readUntil,
  recordingHop,
  relayCall
} from "./wire.js"

const MARKERS = {
  peer: "zq-peer-marker-7c1",
  description: "zq description marker 51d",
  chat: "zq chat text marker 0b2",
  attachment: "zq attachment bytes marker 9e4",
  file: "zq-file-marker-3a8.txt"
}

/** A plain relay (no TLS, as behind a proxy), a recording hop before it, and a daemon dialling the hop. */
const setup = (e2e: "required" | "off") =>
  Effect.gen(function*() {
    const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
    const key = yield* mintKey("carol")
    const hop = yield* recordingHop(relay.port)
    const relayConfig = { enabled: true, url: `ws://127.0.0.1:${hop.port}`, api_key: key, daemon_id: "laptop", e2e }
    const daemon = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startDaemon({ relay: relayConfig, daemon: { attachments: { max_bytes: 128 * 1024 * 1024 } } })
      ),
      (d) => Effect.promise(() => d.close())
    )
    for (let i = 0;; i++) {
      const h = yield* Effect.promise(() => local(daemon.url, "GET", "/health"))
      if (h.body?.relay?.status === "connected") break
      if (i > 200) return yield* Effect.dieMessage("the relay link never came up")
      yield* Effect.sleep("25 millis")
    }
    const cookie = yield* loginPlain(relay.url, key)
    return { relay, hop, daemon, cookie }
  })

const uploadForm = async (name: string, body: string) => {
  const form = new FormData()
  form.append("file", new Blob([body], { type: "text/plain" }), name)
  const req = new Request("http://x/attachments", { method: "POST", body: form })
  return { type: req.headers.get("content-type")!, bytes: new Uint8Array(await req.arrayBuffer()) }
}

const text = (channel: SealedChannel, p: string, init: Parameters<SealedChannel["fetch"]>[1] = {}) =>
  Effect.promise(async () => {
    const res = await channel.fetch(p, init)
    return { status: res.status, text: (await readAll(res.body)).toString("utf8") }
  })

/** The relay's store on disk, read back after the run. */
const dataDir = tempDir("rw-relay-data-")

/** Everything the relay logs (it runs on this test's runtime; the daemon on its own). */
const relayLogs: Array<string> = []
const RelayLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ message }) => relayLogs.push(JSON.stringify(message)))
)

describe("the sealed channel through a real relay", () => {
  it.live(
    "a paired browser sees everything; the wire, the relay's store and an unpaired browser see none of it",
    () =>
      Effect.gen(function*() {
        const { cookie, daemon, hop, relay } = yield* setup("required")
        const agent = yield* Effect.promise(() =>
          register(daemon.url, { name: MARKERS.peer, backend: "codex", description: MARKERS.description })
        )

        // Unpaired: the fixed pair page, refusals, and a channel the daemon closes.
        const page = yield* Effect.promise(() => relayCall(relay.url, cookie, "GET", "/dashboard"))
        assert.strictEqual(page.status, 200)
        assert.include(page.text, "Pair this browser: run <code>repowire relay pair</code>")
        assert.notInclude(page.text, MARKERS.peer)
        // Byte for byte the page whose digest `repowire relay pair` prints.
        assert.strictEqual(createHash("sha256").update(page.text).digest("hex"), loadLoaderPage().sha256)
        const peers = yield* Effect.promise(() => relayCall(relay.url, cookie, "GET", "/peers"))
        assert.strictEqual(peers.status, 403)
        assert.include(peers.text, "repowire relay pair")
        assert.notInclude(peers.text, MARKERS.peer)
        const identity = yield* Effect.promise(() =>
          local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })
        )

        // Pairing through the relay, then the dashboard's calls inside the channel.
        const browser = yield* generateKeyPair()
        const paired = yield* Effect.promise(() => pairThroughRelay(relay.url, cookie, identity.body.secret, browser))
        assert.strictEqual(paired.daemonFingerprint, identity.body.daemon_fingerprint)
        const channel = yield* Effect.promise(() => openChannel(relay.url, cookie, browser, paired.daemonKey))
        // A key the daemon never paired gets its channel closed after the handshake.
        const stranger = yield* generateKeyPair()
        const refused = yield* Effect.promise(() =>
          openChannel(relay.url, cookie, stranger, paired.daemonKey).then(() => "opened", (e: Error) => e.message)
        )
        assert.include(refused, "4403 this browser is not paired with the daemon")

        const listed = yield* text(channel, "/peers")
        assert.strictEqual(listed.status, 200)
        assert.include(listed.text, MARKERS.peer)
        assert.include(listed.text, MARKERS.description)

        // The event stream (SSE) and the live WebSocket, sealed.
        const sse = yield* Effect.promise(() => channel.fetch("/events/stream?since=0"))
        assert.strictEqual(sse.status, 200)
        const socket = yield* Effect.promise(() => channel.websocket("/events/ws?since=0"))
        const wsSeen = new Promise<string>((resolve) => {
          let all = ""
          socket.onmessage = (m) => {
            all += String(m)
            if (all.includes(MARKERS.chat)) resolve(all)
          }
        })
        const sent = yield* text(channel, "/notify", {
          method: "POST",
          headers: [["content-type", "application/json"]],
          body: JSON.stringify({ from_peer: "dashboard", to_peer: agent.peer_id, text: MARKERS.chat })
        })
        assert.strictEqual(sent.status, 200, sent.text)
        const streamed = yield* Effect.promise(() => readUntil(sse.body, MARKERS.chat))
        assert.include(streamed.text, MARKERS.chat)
        assert.include(yield* Effect.promise(() => wsSeen), MARKERS.chat)

        // An attachment up and down.
        const form = yield* Effect.promise(() => uploadForm(MARKERS.file, MARKERS.attachment))
        const up = yield* text(channel, "/attachments", {
          method: "POST",
          headers: [["content-type", form.type]],
          body: form.bytes
        })
        assert.strictEqual(up.status, 201, up.text)
        const stored = JSON.parse(up.text).attachments[0]
        assert.include(stored.path, daemon.home)
        const down = yield* text(channel, `/attachments/${stored.id}`)
        assert.strictEqual(down.text, MARKERS.attachment)

        // Local-only routes stay refused inside the channel.
        const mcp = yield* text(channel, "/mcp", { method: "POST", body: "{}" })
        assert.strictEqual(mcp.status, 404)

        const wire = hop.bytes().toString("latin1")
        assert.isAbove(wire.length, 10_000)
        // The hop sees what the relay sees: the tunnel's own frames are readable, the channel's contents are not.
        assert.include(wire, "/sealed/channel")
        for (const marker of [...Object.values(MARKERS), daemon.home, stored.id, "/events/stream", "/notify"]) {
          assert.notInclude(wire, marker, `the wire carried ${marker}`)
        }
        const relayFiles = fs.readdirSync(dataDir).map((f) => fs.readFileSync(path.join(dataDir, f)).toString("latin1"))
        assert.isNotEmpty(relayFiles)
        assert.isTrue(relayFiles.some((f) => f.includes("carol")))
        for (const marker of Object.values(MARKERS)) assert.isFalse(relayFiles.some((f) => f.includes(marker)))
        const logged = relayLogs.join("\n")
        // The relay does log (its tunnel coming up and the like), at every level: none of it is the dashboard's.
        assert.isNotEmpty(relayLogs)
        for (const marker of Object.values(MARKERS)) assert.notInclude(logged, marker)

        // Revoking the device ends its channel at once, and its open streams with it.
        const revoked = yield* Effect.promise(() =>
          local(daemon.url, "DELETE", `/relay/devices/${paired.deviceId}`, { headers: asHuman(daemon.home) })
        )
        assert.strictEqual(revoked.status, 200, revoked.text)
        const closed = yield* Effect.promise(() => channel.closed)
        assert.strictEqual(closed.code, 4401)
        const after = yield* Effect.promise(() => streamed.reader.read().then(() => "read", (e: Error) => e.message))
        assert.include(after, "closed")
        const again = yield* Effect.promise(() =>
          openChannel(relay.url, cookie, browser, paired.daemonKey).then(() => "opened", (e: Error) => e.message)
        )
        assert.include(again, "4403")
      }).pipe(
        Effect.scoped,
        Effect.provide(RelayServicesLayer(path.join(dataDir, "relay.db"))),
        Effect.provide(RelayLogger),
        Logger.withMinimumLogLevel(LogLevel.All)
      ),
    60_000
  )

  it.live("with relay.e2e: off the plain tunnel answers as before", () =>
    Effect.gen(function*() {
      const { cookie, daemon, relay } = yield* setup("off")
      yield* Effect.promise(() => register(daemon.url, { name: MARKERS.peer, backend: "codex" }))
      const peers = yield* Effect.promise(() => relayCall(relay.url, cookie, "GET", "/peers"))
      assert.strictEqual(peers.status, 200)
      assert.include(peers.text, MARKERS.peer)
      const page = yield* Effect.promise(() => relayCall(relay.url, cookie, "GET", "/dashboard"))
      assert.notInclude(page.text, "Pair this browser")
      const socket = yield* Effect.promise(() => openSocket(relay.url, cookie))
      socket.close()
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 30_000)
})
