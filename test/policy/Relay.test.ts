import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { updateConfigFile } from "../../src/layers/ConfigLive.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { login, makeCert, mintKey, RelayServicesLayer, request, startRelay, tempDir } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, dashboardSession, register, request as local } from "../support/Http.js"
import { writePolicy } from "./support.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

const READ_ONLY_RELAY = `
rules:
  - {effect: deny, from: "via:relay", actions: [ask, notify, broadcast, ack, attach]}
`

describe("a tunnelled request under the access rules", () => {
  it.live(
    "via:relay makes the relay dashboard read-only; the local dashboard still sends; spawning through the relay needs a rule",
    () =>
      Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("carol")
        const home = tempDir("rw-home-")
        // The plain tunnel (relay.e2e: off): the access rules on tunnelled requests, unsealed.
        const relayConfig = { enabled: true, url: relay.url, api_key: key, daemon_id: "laptop", e2e: "off" }
        yield* updateConfigFile(resolvePaths({ REPOWIRE_HOME: home }), [{ keyPath: ["relay"], value: relayConfig }])
          .pipe(Effect.orDie)
        writePolicy(home, READ_ONLY_RELAY)
        const d = yield* Effect.acquireRelease(
          Effect.promise(() => startDaemon({ relay: relayConfig }, home)),
          (x) => Effect.promise(() => x.close())
        )
        const agent = yield* Effect.promise(() => register(d.url, { name: "agent", backend: "codex" }))
        const host = { host: `127.0.0.1:${d.port}` }
        for (let i = 0;; i++) {
          const h = yield* Effect.promise(() => local(d.url, "GET", "/health", { headers: host }))
          if (h.body?.relay?.status === "connected") break
          if (i > 200) return yield* Effect.dieMessage("the relay link never came up")
          yield* Effect.sleep("25 millis")
        }
        const { cookie } = yield* login(relay.url, cert.cert, key)

        const peers = yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })
        assert.strictEqual(peers.status, 200)
        assert.include(peers.body, "agent")
        const policy = JSON.parse((yield* request(`${relay.url}/policy`, cert.cert, { headers: { cookie } })).body)
        assert.strictEqual(policy.rules_in_force[0].text, "deny via:relay ask,notify,broadcast,ack,attach")

        const sent = yield* request(`${relay.url}/notify`, cert.cert, {
          method: "POST",
          headers: { cookie, origin: relay.url, "content-type": "application/json" },
          body: JSON.stringify({ from_peer: "dashboard", to_peer: "agent", text: "from afar" })
        })
        assert.strictEqual(sent.status, 403, sent.body)
        const error = JSON.parse(sent.body).error
        assert.strictEqual(error.code, "policy_denied")
        assert.include(
          error.message,
          "dashboard (via the relay) may not notify agent: rule 1 (deny via:relay ask,notify,broadcast,ack,attach)"
        )

        // The same call from the local dashboard page is via:local.
        const page = yield* Effect.promise(() => dashboardSession(d.url))
        const here = yield* Effect.promise(() =>
          local(d.url, "POST", "/notify", {
            headers: { ...page, ...host },
            body: { from_peer: "dashboard", to_peer: agent.peer_id, text: "from here" }
          })
        )
        assert.strictEqual(here.status, 200, here.text)

        const events = (yield* Effect.promise(() =>
          local(d.url, "GET", "/events?limit=1000", { headers: host })
        )).body.events
        const denied = events.filter((e: { type: string }) => e.type === "policy_denied")
        assert.strictEqual(denied.length, 1)
        assert.deepInclude(denied[0], {
          from_name: "dashboard",
          to_name: "agent",
          action: "notify",
          via: "relay",
          rule: 1
        })
        assert.notInclude(JSON.stringify(events), "from afar")

        // /policy/check never crosses the tunnel.
        const check = yield* request(`${relay.url}/policy/check`, cert.cert, {
          method: "POST",
          headers: { cookie, origin: relay.url, "content-type": "application/json" },
          body: JSON.stringify({ from: "agent", tool: "ask" })
        })
        assert.strictEqual(check.status, 404)

        // Starting an agent through the relay: off while no rule allows via:relay spawn.
        const spawnThroughRelay = () =>
          request(`${relay.url}/spawn`, cert.cert, {
            method: "POST",
            headers: { cookie, origin: relay.url, "content-type": "application/json" },
            body: JSON.stringify({ path: home, backend: "codex" })
          })
        const refused = yield* spawnThroughRelay()
        assert.strictEqual(refused.status, 403, refused.body)
        assert.strictEqual(JSON.parse(refused.body).error.code, "spawn_refused")
        assert.include(JSON.parse(refused.body).error.message, "needs a rule that allows it")

        const untilRules = (count: number) =>
          Effect.gen(function*() {
            for (let i = 0;; i++) {
              const h = yield* Effect.promise(() => local(d.url, "GET", "/health", { headers: host }))
              if (h.body?.policy?.rules === count) return
              if (i > 200) return yield* Effect.dieMessage(`the policy never had ${count} rules`)
              yield* Effect.sleep("25 millis")
            }
          })
        writePolicy(home, `${READ_ONLY_RELAY}  - {effect: allow, from: "via:relay", actions: [spawn]}\n`)
        yield* untilRules(2)
        // The rule lets the request through to the spawner, which is not configured here.
        const allowed = yield* spawnThroughRelay()
        assert.strictEqual(allowed.status, 403, allowed.body)
        assert.notInclude(JSON.parse(allowed.body).error.message, "needs a rule")
        assert.include(JSON.parse(allowed.body).error.message, "daemon.spawn")

        // Locally, a rule that denies spawn refuses even a human, and records it.
        writePolicy(home, `rules:\n  - {effect: deny, from: "*", actions: [spawn]}\n`)
        yield* untilRules(1)
        const ops = yield* Effect.promise(() => register(d.url, { name: "ops", backend: "cli" }, asHuman(home)))
        const spawnDenied = yield* Effect.promise(() =>
          local(d.url, "POST", "/spawn", {
            headers: { ...host, "x-repowire-peer-token": ops.token },
            body: { path: home, backend: "codex" }
          })
        )
        assert.strictEqual(spawnDenied.status, 403, spawnDenied.text)
        assert.strictEqual(spawnDenied.body.error.code, "policy_denied")
        assert.include(spawnDenied.body.error.message, "spawn")
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))),
    30_000
  )
})
