import { assert, describe, it } from "@effect/vitest"
import WebSocket from "ws"
import { decodeMeshFrame, encodeMeshFrame } from "../../src/protocol/MeshRelayWire.js"
import {
  agentSocket,
  as,
  join,
  linked,
  meshDaemon,
  pair,
  peersOf,
  register,
  request,
  until
} from "../mesh/meshHarness.js"
import { tempHome } from "../support/Daemon.js"
import { cli } from "../support/Process.js"
import { cert, withCluster } from "./clusterKit.js"

process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

/** A bare /mesh socket of `daemonId` on `url`: every binary frame and note it gets. */
const rawMesh = (url: string, key: string, daemonId: string) =>
  new Promise<{ ws: WebSocket; frames: Array<Uint8Array>; notes: Array<Record<string, unknown>> }>(
    (resolve, reject) => {
      const frames: Array<Uint8Array> = []
      const notes: Array<Record<string, unknown>> = []
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/mesh`, {
        headers: { authorization: `Bearer ${key}`, "x-repowire-daemon-id": daemonId },
        ca: cert.cert,
        perMessageDeflate: false
      })
      ws.on("message", (data: Buffer, isBinary) => {
        if (isBinary) return void frames.push(new Uint8Array(data))
        const note = JSON.parse(data.toString("utf8")) as Record<string, unknown>
        notes.push(note)
        if ("present" in note) resolve({ ws, frames, notes })
      })
      ws.on("error", reject)
    }
  )

describe("one mesh across relay replicas (real processes, PostgreSQL)", () => {
  it(
    "two daemons of a user on different replicas pair, list each other and ask → ack across; another user's daemon gets nothing",
    () =>
      withCluster(2, async (_pg, db, key, [a, b]) => {
        const minted = cli(await tempHome(), ["relay", "keys", "create", "--user", "mallory", "--database-url", db])
        assert.strictEqual(minted.code, 0, minted.stderr)
        const malloryKey = minted.stdout.trim()
        // Mallory's daemon takes alice's server's daemon id, on the replica that holds alice's laptop.
        const mallory = await rawMesh(a!.url, malloryKey, "server")
        const laptop = await meshDaemon(a!.url, key, "laptop")
        const server = await meshDaemon(b!.url, key, "server")
        try {
          const front = await register(laptop.url, { name: "front", backend: "claude-code" })
          const api = await register(server.url, { name: "api", backend: "codex" })
          const apiSocket = await agentSocket(server, api)

          const code = await pair(laptop)
          // Until the server's own mesh socket is open (TLS to its replica), a join answers 503.
          const joined = await until("the join", async () => {
            const reply = await join(server, code)
            return reply.status === 503 ? undefined : reply
          })
          assert.strictEqual(joined.status, 200, joined.text)
          assert.strictEqual(joined.body.machine, "laptop")
          await linked(laptop, "server")
          await linked(server, "laptop")
          const remote = await until("api on the laptop", async () =>
            (await peersOf(laptop)).find((p) => p.display_name === "api" && p.machine === "server"))
          assert.strictEqual(remote.peer_id, api.peer_id)

          const asked = await request(laptop.url, "POST", "/ask", {
            headers: as(front),
            body: { from_peer: front.peer_id, to_peer: "api@server", text: "which endpoints, across replicas?" }
          })
          assert.strictEqual(asked.status, 200, asked.text)
          const frame = await apiSocket.next((f) =>
            f.type === "ask"
          )
          assert.strictEqual(frame.text, "which endpoints, across replicas?")
          const acked = await request(server.url, "POST", "/ack", {
            headers: as(api),
            body: { correlation_id: frame.correlation_id, message: "GET /users" }
          })
          assert.strictEqual(acked.status, 200, acked.text)
          const waited = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=10`, {
            headers: as(front)
          })
          assert.strictEqual(waited.body.state, "acked")
          assert.strictEqual(waited.body.reply, "GET /users")
          apiSocket.close()

          // Mallory shares a replica with alice's laptop and a daemon id with alice's server: none
          // of alice's frames reached her. Her other daemon, on the server's replica, reaches
          // no daemon of alice's: "laptop" is nobody of hers, and "server" is her own.
          assert.strictEqual(mallory.frames.length, 0)
          assert.isFalse(mallory.notes.some((n) => "joined" in n))
          const probe = await rawMesh(b!.url, malloryKey, "probe")
          assert.deepStrictEqual(probe.notes[0], { present: ["server"] })
          probe.ws.send(encodeMeshFrame("laptop", Uint8Array.of(0x30, 1, 2, 3)))
          await until("laptop unreachable for mallory", async () => probe.notes.find((n) => n.unreachable === "laptop"))
          probe.ws.send(encodeMeshFrame("server", Uint8Array.of(0x30, 4, 5)))
          const hers = await until("mallory's own server gets it", async () => mallory.frames[0])
          assert.deepStrictEqual(decodeMeshFrame(hers), { id: "probe", payload: Uint8Array.of(0x30, 4, 5) })
          probe.ws.terminate()
          mallory.ws.terminate()
        } finally {
          await laptop.close()
          await server.close()
        }
      }),
    120_000
  )

  it(
    "a daemon held by another replica is present, its frames pass both ways, and its leaving is heard",
    () =>
      withCluster(2, async (_pg, _db, key, [a, b]) => {
        const one = await rawMesh(a!.url, key, "one")
        const two = await rawMesh(b!.url, key, "two")
        assert.deepStrictEqual(two.notes[0], { present: ["one"] })
        await until("one hears two joined", async () => one.notes.find((n) => n.joined === "two"))
        one.ws.send(encodeMeshFrame("two", Uint8Array.of(1, 2, 3)))
        const got = await until("the frame on two", async () => two.frames[0])
        assert.deepStrictEqual(decodeMeshFrame(got), { id: "one", payload: Uint8Array.of(1, 2, 3) })
        two.ws.send(encodeMeshFrame("one", Uint8Array.of(4, 5)))
        const back = await until("the frame on one", async () => one.frames[0])
        assert.deepStrictEqual(decodeMeshFrame(back), { id: "two", payload: Uint8Array.of(4, 5) })
        two.ws.close()
        await until("one hears two left", async () => one.notes.find((n) => n.left === "two"))
        one.ws.send(encodeMeshFrame("two", Uint8Array.of(6)))
        await until("two unreachable", async () => one.notes.find((n) => n.unreachable === "two"))
        one.ws.terminate()
      }),
    120_000
  )
})
