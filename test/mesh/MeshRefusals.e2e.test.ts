import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { dashboardSession } from "../support/Http.js"
import {
  agentSocket,
  as,
  cliAsync,
  linked,
  linkMachines,
  meshDaemon,
  notify,
  onlineOn,
  register,
  request,
  until
} from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

interface LoggedEvent {
  readonly type: string
  readonly action?: string
  readonly message_id?: string
  readonly state?: string
  readonly detail?: string
  readonly text?: string
}

const eventsOf = async (url: string) =>
  (await request(url, "GET", "/events?limit=1000")).body.events as Array<LoggedEvent>

describe("one mesh across machines: what the receiving daemon refuses", () => {
  it.live(
    "an ask its rules deny (or from a peer it does not know) fails on the sender with the reason, is never sent again; a broadcast meets its broadcast rule",
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
            fs.writeFileSync(
              `${server.home}/policy.yaml`,
              "default: allow\nrules:\n  - effect: deny\n    from: \"machine:laptop\"\n    actions: [ask, broadcast]\n",
              { mode: 0o600 }
            )
            await until("the server's rule in force", async () =>
              (await request(server.url, "GET", "/health")).body.policy.rules === 1 ? true : undefined)
            await linkMachines(laptop, server, "server")
            await onlineOn(laptop, api)

            // The server's rule denies it: the asker hears so at once, with the reason.
            const asked = await request(laptop.url, "POST", "/ask", {
              headers: as(front),
              body: { from_peer: front.peer_id, to_peer: "api@server", text: "may I? wombat-6620" }
            })
            assert.strictEqual(asked.status, 200, asked.text)
            const started = Date.now()
            const waited = await request(laptop.url, "POST", `/asks/${asked.body.correlation_id}/wait?timeout=20`, {
              headers: as(front)
            })
            assert.isBelow(Date.now() - started, 10_000, "the failure ends the wait, not its timeout")
            assert.strictEqual(waited.body.state, "failed", waited.text)
            assert.include(waited.body.failure, "server refused it")
            assert.include(waited.body.failure, "PolicyDenied")
            const refusedEvent = (await eventsOf(laptop.url)).find((e) =>
              e.type === "delivery" && e.state === "refused"
            )
            assert.include(refusedEvent?.detail, "PolicyDenied")
            const listed = await cliAsync(laptop.home, ["asks", "--all"])
            assert.strictEqual(listed.code, 0, listed.stderr)
            assert.include(listed.stdout, "failed: server refused it")

            // A notify is not what the rule names: it passes.
            assert.strictEqual((await notify(laptop.url, front, "api@server", "a notify, emu-1212")).status, 200)
            await until("the notify on the server", async () =>
              socket.frames.find((f) => f.text === "a notify, emu-1212"))

            // A mesh broadcast reaches the server as a broadcast, so the broadcast rule denies it there.
            const wide = await request(laptop.url, "POST", "/broadcast", {
              headers: as(front),
              body: { from_peer: front.peer_id, text: "mesh news, tapir-5150", scope: "mesh" }
            })
            assert.strictEqual(wide.status, 200, wide.text)
            const denials = async () =>
              (await eventsOf(server.url)).filter((e) => e.type === "policy_denied")
            await until("the broadcast denied on the server", async () =>
              (await denials()).find((e) =>
                e.action === "broadcast"
              ))
            await until("its copy failed on the laptop", async () =>
              (await eventsOf(laptop.url)).filter((e) =>
                  e.type === "delivery" && e.state === "refused"
                ).length === 2
                ? true
                : undefined)
            assert.isUndefined(socket.frames.find((f) =>
              f.text === "mesh news, tapir-5150"
            ))
            assert.deepStrictEqual((await denials()).map((e) => e.action).sort(), ["ask", "broadcast"])

            // A peer the server does not know (the dashboard stays home): refused there, failed here.
            const fromDashboard = await request(laptop.url, "POST", "/notify", {
              headers: await dashboardSession(laptop.url),
              body: { from_peer: "dashboard", to_peer: "api@server", text: "from the page, okapi-3030" }
            })
            assert.strictEqual(fromDashboard.status, 200, fromDashboard.text)
            const unknown = await until("the dashboard's notify failed", async () =>
              (await eventsOf(laptop.url)).find((e) =>
                e.type === "delivery" && e.state === "refused" && e.message_id === fromDashboard.body.id
              ))
            assert.include(unknown.detail, "PeerNotFound")
            assert.isUndefined(socket.frames.find((f) =>
              f.text === "from the page, okapi-3030"
            ))

            // A new session (the sender restarted) sends none of them again.
            await laptop.close()
            laptop = await meshDaemon(relay.url, key, "laptop", laptop.home)
            await linked(laptop, "server")
            await new Promise((r) => setTimeout(r, 1000))
            assert.strictEqual((await denials()).length, 2, "never sent again")
            assert.isUndefined(socket.frames.find((f) => f.text === "from the page, okapi-3030"))
            const after = await request(laptop.url, "GET", `/asks/${asked.body.correlation_id}`, { headers: as(front) })
            assert.strictEqual(after.body.state, "failed")
            const serverLog = JSON.stringify(await eventsOf(server.url))
            assert.notInclude(serverLog, "wombat-6620")
            assert.notInclude(serverLog, "tapir-5150")
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
