import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import { tunnelUrl } from "../../src/layers/tunnel/daemon/Dialer.js"
import { relayApiBase } from "../../src/programs/relay/RelayClient.js"
import { addressMatches } from "../../src/programs/relay/RelayContext.js"
import { defaultRelayOptions } from "../../src/programs/relay/RelayContext.js"
import { makeRelayServer } from "../../src/programs/relay/RelayServer.js"
import { isTunnelAllowed } from "../../src/protocol/TunnelRoutes.js"
import { RelayServicesLayer } from "./harness.js"

const auth = (port: number, forwardedFor: string) =>
  Effect.async<number>((resume) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/auth",
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor }
    }, (res) => {
      res.resume()
      resume(Effect.succeed(res.statusCode ?? 0))
    })
    req.end(`key=rw_${"q".repeat(43)}`)
  })

const plainRelay = (trustedProxies: ReadonlyArray<string>) =>
  makeRelayServer({
    ...defaultRelayOptions,
    host: "127.0.0.1",
    port: 0,
    trustedProxies,
    authRate: { max: 2, windowMs: 60_000 }
  })

describe("relay behind a proxy, and its small rules", () => {
  it.live("forwarded client addresses count only when they come from the trusted proxy", () =>
    Effect.gen(function*() {
      const trusted = yield* plainRelay(["127.0.0.1"])
      const a = [
        yield* auth(trusted.port, "1.1.1.1"),
        yield* auth(trusted.port, "1.1.1.1"),
        yield* auth(trusted.port, "1.1.1.1")
      ]
      assert.deepStrictEqual(a, [401, 401, 429])
      assert.strictEqual(yield* auth(trusted.port, "2.2.2.2"), 401)
      // The proxy appends the real client last: a client-supplied first entry changes nothing.
      assert.strictEqual(yield* auth(trusted.port, "9.9.9.9, 1.1.1.1"), 429)

      const untrusted = yield* plainRelay(["10.0.0.1"])
      const b = [
        yield* auth(untrusted.port, "3.3.3.3"),
        yield* auth(untrusted.port, "4.4.4.4"),
        yield* auth(untrusted.port, "5.5.5.5")
      ]
      assert.deepStrictEqual(b, [401, 401, 429])
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))))

  it("matches proxy addresses and CIDRs", () => {
    assert.isTrue(addressMatches("172.16.0.0/12", "172.18.0.5"))
    assert.isFalse(addressMatches("172.16.0.0/12", "172.32.0.1"))
    assert.isTrue(addressMatches("127.0.0.1", "127.0.0.1"))
    assert.isFalse(addressMatches("127.0.0.1", "127.0.0.2"))
    assert.isFalse(addressMatches("10.0.0.0/40", "10.0.0.1"))
  })

  it("allows only the dashboard's routes through the tunnel", () => {
    const yes = [
      ["GET", "/"],
      ["GET", "/dashboard/app.js"],
      ["GET", "/peers?all=true"],
      ["GET", "/events/ws?since=3"],
      ["POST", "/ask"],
      ["GET", "/attachments/abc"]
    ]
    const no = [
      ["POST", "/mcp"],
      ["GET", "/ws"],
      ["DELETE", "/peers/a"],
      ["POST", "/peers"],
      ["GET", "/deliveries"],
      ["POST", "/relay/reconnect"],
      ["GET", "/dashboard/../mcp"],
      ["GET", "/dashboard/%2e%2e/mcp"],
      ["GET", "//mcp"],
      ["GET", "/peers/a\\b"]
    ]
    yes.forEach(([m, p]) => assert.isTrue(isTunnelAllowed(m!, p!), `${m} ${p}`))
    no.forEach(([m, p]) => assert.isFalse(isTunnelAllowed(m!, p!), `${m} ${p}`))
  })

  it("derives the tunnel and API URLs from whatever scheme config holds", () => {
    assert.strictEqual(tunnelUrl("https://relay.example.com"), "wss://relay.example.com/tunnel")
    assert.strictEqual(tunnelUrl("wss://relay.example.com/base/"), "wss://relay.example.com/base/tunnel")
    assert.strictEqual(tunnelUrl("http://127.0.0.1:8443"), "ws://127.0.0.1:8443/tunnel")
    assert.strictEqual(relayApiBase("wss://relay.example.com/"), "https://relay.example.com")
  })
})
