import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import WebSocket from "ws"
import { updateConfigFile } from "../../src/layers/ConfigLive.js"
import { rotateKey } from "../../src/programs/relay/Enable.js"
import { postForKey } from "../../src/programs/relay/RelayClient.js"
import { resolvePaths } from "../../src/protocol/HomeFiles.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { RelaySessions } from "../../src/services/RelaySessions.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"
import {
  fakeApp,
  login,
  makeCert,
  mintKey,
  RelayServicesLayer,
  request,
  startRelay,
  tempDir,
  tunnelClient,
  waitConnected
} from "./harness.js"

const cert = makeCert(tempDir("rw-cert-"))

const daemon = (label: string, url: string, key: string, daemonId: string, home?: string) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      tunnelClient(fakeApp(label), { url, key, daemonId, ca: cert.cert, ...(home ? { home } : {}) })
    )
    yield* waitConnected().pipe(Effect.provide(ctx))
    return ctx
  })

const getJson = (url: string, cookie: string) =>
  request(url, cert.cert, { headers: { cookie } }).pipe(
    Effect.map((r) => ({ status: r.status, body: r.status === 200 ? JSON.parse(r.body) : r.body }))
  )

const firstWsMessage = (url: string, cookie: string, origin: string) =>
  Effect.async<string, Error>((resume) => {
    const ws = new WebSocket(url, { headers: { cookie, origin }, ca: cert.cert })
    ws.on("message", (d) => {
      resume(Effect.succeed(d.toString()))
      ws.close()
    })
    ws.on("error", (e) => resume(Effect.fail(e)))
  })

/** A relay on a state file that another process (the CLI) can open too, with a key for `user`. */
const relayOnFile = (user: string) =>
  Effect.gen(function*() {
    const db = path.join(tempDir("rw-relay-db-"), "relay.db")
    const services = yield* Layer.build(RelayServicesLayer(db))
    const relay = yield* startRelay(cert).pipe(Effect.provide(services))
    const key = yield* mintKey(user).pipe(Effect.provide(services))
    return { db, key, relay }
  })

describe("relay isolation, keys and rotation", () => {
  it.live("users reach only their own daemons, even with the same daemon id", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const aliceKey = yield* mintKey("alice")
      const bobKey = yield* mintKey("bob")
      yield* daemon("A", relay.url, aliceKey, "laptop")
      const alice = yield* login(relay.url, cert.cert, aliceKey)
      yield* daemon("B", relay.url, bobKey, "laptop")
      const bob = yield* login(relay.url, cert.cert, bobKey)
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, alice.cookie)).body.daemon, "A")
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, bob.cookie)).body.daemon, "B")
      const wss = relay.url.replace("https", "wss")
      assert.include(yield* firstWsMessage(`${wss}/events/ws`, bob.cookie, relay.url), "\"daemon\":\"B\"")
      assert.include(yield* firstWsMessage(`${wss}/events/ws`, alice.cookie, relay.url), "\"daemon\":\"A\"")
      // Bob picking "laptop" picks his own; he cannot name Alice's.
      const pick = yield* request(`${relay.url}/select`, cert.cert, {
        method: "POST",
        headers: { cookie: bob.cookie, origin: relay.url, "content-type": "application/x-www-form-urlencoded" },
        body: "daemon_id=laptop"
      })
      assert.strictEqual(pick.status, 303)
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, bob.cookie)).body.daemon, "B")
      const other = yield* request(`${relay.url}/select`, cert.cert, {
        method: "POST",
        headers: { cookie: bob.cookie, origin: relay.url, "content-type": "application/x-www-form-urlencoded" },
        body: "daemon_id=desktop"
      })
      assert.strictEqual(other.status, 409)
      // A forged cookie is just no session.
      assert.strictEqual(
        (yield* request(`${relay.url}/peers`, cert.cert, {
          headers: { cookie: `__Host-rw_session=${"A".repeat(43)}` }
        })).status,
        401
      )
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("a user with several daemons picks one", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("carol")
      yield* daemon("laptop-app", relay.url, key, "laptop")
      yield* daemon("desktop-app", relay.url, key, "desktop")
      const { cookie, reply } = yield* login(relay.url, cert.cert, key)
      assert.strictEqual(reply.headers.location, "/")
      const picker = yield* request(`${relay.url}/`, cert.cert, { headers: { cookie } })
      assert.include(picker.body, "value=\"laptop\"")
      assert.include(picker.body, "value=\"desktop\"")
      yield* request(`${relay.url}/select`, cert.cert, {
        method: "POST",
        headers: { cookie, origin: relay.url, "content-type": "application/x-www-form-urlencoded" },
        body: "daemon_id=desktop"
      })
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, cookie)).body.daemon, "desktop-app")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("keys and session ids are stored only as digests, and survive a restart", () =>
    Effect.gen(function*() {
      const dir = tempDir("rw-relay-db-")
      const db = path.join(dir, "relay.db")
      const { cookie, key } = yield* Effect.gen(function*() {
        const relay = yield* startRelay(cert)
        const key = yield* mintKey("dave")
        yield* daemon("D", relay.url, key, "laptop")
        const { cookie } = yield* login(relay.url, cert.cert, key)
        return { cookie, key }
      }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(db)))
      const files = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f)).toString("latin1")).join("")
      assert.notInclude(files, key)
      assert.notInclude(files, key.slice(3))
      assert.notInclude(files, cookie.split("=")[1]!)
      const found = yield* Effect.flatMap(ApiKeys, (k) => k.verify(Redacted.make(key))).pipe(
        Effect.provide(RelayServicesLayer(db))
      )
      assert.isTrue(Option.isSome(found))
      const registered = yield* Effect.flatMap(ApiKeys, (k) => k.register()).pipe(
        Effect.provide(RelayServicesLayer(db))
      )
      assert.notStrictEqual(Redacted.value(registered.key), key)
    }))

  it.live("registration always mints a fresh key for a new user", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const a = yield* postForKey(`${relay.url}/api/register`, { body: { label: "alice" }, ca: cert.cert })
      const b = yield* postForKey(`${relay.url}/api/register`, { body: { label: "alice" }, ca: cert.cert })
      assert.notStrictEqual(a.user_id, b.user_id)
      assert.notStrictEqual(a.api_key, b.api_key)
      assert.match(a.api_key, /^rw_[A-Za-z0-9_-]{43}$/)
      const closed = yield* startRelay(cert, { registration: false })
      const refused = yield* Effect.flip(postForKey(`${closed.url}/api/register`, { ca: cert.cert }))
      assert.include(refused.message, "403")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("rotate-key revokes the old key, ends its sessions and tunnel, and the daemon reconnects with the new one", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("erin")
      const home = tempDir("rw-home-")
      const paths = resolvePaths({ REPOWIRE_HOME: home })
      yield* updateConfigFile(paths, [
        { keyPath: ["daemon", "port"], value: 1 },
        { keyPath: ["relay", "enabled"], value: true },
        { keyPath: ["relay", "url"], value: relay.url },
        { keyPath: ["relay", "api_key"], value: key },
        { keyPath: ["relay", "daemon_id"], value: "laptop" }
      ])
      const ctx = yield* daemon("E", relay.url, key, "laptop", home)
      const { cookie } = yield* login(relay.url, cert.cert, key)
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, cookie)).status, 200)

      const rotated = yield* rotateKey({ ca: cert.cert, env: { REPOWIRE_HOME: home } })
      assert.isFalse(rotated.daemon_notified)
      const newKey = fs.readFileSync(paths.configFile, "utf8").match(/api_key: (rw_\S+)/)![1]!
      assert.notStrictEqual(newKey, key)
      assert.strictEqual(fs.statSync(paths.configFile).mode & 0o777, 0o600)

      assert.strictEqual((yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })).status, 401)
      assert.strictEqual((yield* login(relay.url, cert.cert, key)).reply.status, 401)
      // The old tunnel was ended; the daemon cannot come back with the old key...
      yield* Effect.sleep("300 millis")
      const stale = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
      assert.notStrictEqual(stale.status, "connected")
      // ...and does with the new one once it reloads its config (what POST /relay/reconnect does).
      yield* Effect.flatMap(TunnelClient, (c) => c.reconnect).pipe(Effect.provide(ctx))
      yield* waitConnected().pipe(Effect.provide(ctx))
      const fresh = yield* login(relay.url, cert.cert, newKey)
      assert.strictEqual(fresh.reply.status, 303)
      assert.strictEqual((yield* getJson(`${relay.url}/peers`, fresh.cookie)).body.daemon, "E")
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("sessions expire at the relay", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert, { sessionTtlMs: 1500 })
      const key = yield* mintKey("fay")
      yield* daemon("F", relay.url, key, "laptop")
      const { cookie, setCookie } = yield* login(relay.url, cert.cert, key)
      assert.include(setCookie, "Max-Age=1")
      assert.strictEqual((yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })).status, 200)
      yield* Effect.sleep("1600 millis")
      assert.strictEqual((yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })).status, 401)
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it.live("sessions ended by another process (relay keys revoke) are refused on the very next request", () =>
    Effect.gen(function*() {
      const { db, key, relay } = yield* relayOnFile("hal")
      yield* daemon("H", relay.url, key, "laptop")
      const { cookie } = yield* login(relay.url, cert.cert, key)
      assert.strictEqual((yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })).status, 200)
      // What `relay keys revoke` does from its own process, on its own connection to the file.
      const keys = yield* Effect.flatMap(ApiKeys, (k) => k.list).pipe(Effect.provide(RelayServicesLayer(db)))
      const record = keys.find((k) => k.user_id === "hal")!
      const ended = yield* Effect.flatMap(RelaySessions, (s) => s.removeByKey(record.key_id)).pipe(
        Effect.provide(RelayServicesLayer(db))
      )
      assert.strictEqual(ended, 1)
      assert.strictEqual((yield* request(`${relay.url}/peers`, cert.cert, { headers: { cookie } })).status, 401)
    }).pipe(Effect.scoped))

  it.live("a key revoked by another process (relay keys revoke) ends its tunnel within seconds", () =>
    Effect.gen(function*() {
      const { db, key, relay } = yield* relayOnFile("gus")
      const ctx = yield* daemon("G", relay.url, key, "laptop")
      const revoked = yield* Effect.flatMap(ApiKeys, (k) => k.revoke("gus")).pipe(
        Effect.provide(RelayServicesLayer(db))
      )
      assert.strictEqual(revoked.length, 1)
      const deadline = Date.now() + 5000
      let current = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
      while (current.status === "connected" && Date.now() < deadline) {
        yield* Effect.sleep("50 millis")
        current = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
      }
      assert.notStrictEqual(current.status, "connected")
      yield* Effect.sleep("500 millis")
      const after = yield* Effect.flatMap(TunnelClient, (c) => c.status).pipe(Effect.provide(ctx))
      assert.notStrictEqual(after.status, "connected")
      assert.include(after.last_error ?? "", "401")
    }).pipe(Effect.scoped))
})
