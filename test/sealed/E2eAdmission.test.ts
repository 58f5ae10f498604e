import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeAuthToken } from "../../src/layers/AuthTokenLive.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { makeAdmission, type RequestHead } from "../../src/programs/daemon/Guard.js"
import { Config } from "../../src/services/Config.js"

const relay = { enabled: true, url: "wss://relay.example.com", api_key: "rw_test_key_0123456789abcdef" }

const verdictOf = (head: Partial<RequestHead>) =>
  Effect.gen(function*() {
    const admit = makeAdmission({
      config: yield* Config,
      auth: makeAuthToken({ token: "t".repeat(32), humanCredential: "human" }),
      port: () => 8377
    })
    const verdict = admit(
      { method: "GET", url: "/peers", headers: {}, tunnelled: true, client: "relay", ...head },
      () => false
    )
    return verdict._tag === "Refuse"
      ? `refuse ${(verdict.error.constructor as unknown as { status: number }).status}`
      : verdict._tag.toLowerCase()
  })

layer(ConfigMemory("/nonexistent-repowire-home", { relay: { ...relay, e2e: "required" } }))(
  "relay.e2e: required",
  (it) => {
    describe("what a tunnelled request reaches", () => {
      it.effect("unsealed: only the pair page, the pairing handshake and the channel", () =>
        Effect.gen(function*() {
          assert.strictEqual(yield* verdictOf({}), "refuse 403")
          assert.strictEqual(yield* verdictOf({ url: "/events/stream" }), "refuse 403")
          assert.strictEqual(yield* verdictOf({ url: "/events/ws" }), "refuse 403")
          assert.strictEqual(yield* verdictOf({ method: "POST", url: "/notify" }), "refuse 403")
          assert.strictEqual(yield* verdictOf({ url: "/dashboard/assets/app.js" }), "refuse 403")
          assert.strictEqual(yield* verdictOf({ url: "/dashboard" }), "admit")
          assert.strictEqual(yield* verdictOf({ url: "/sealed/channel" }), "admit")
          assert.strictEqual(yield* verdictOf({ method: "POST", url: "/sealed/pair/begin" }), "admit")
          assert.strictEqual(yield* verdictOf({ method: "POST", url: "/sealed/pair/finish" }), "admit")
        }))

      it.effect("sealed: the tunnel allow-list, and never a channel inside a channel", () =>
        Effect.gen(function*() {
          assert.strictEqual(yield* verdictOf({ sealed: true }), "admit")
          assert.strictEqual(yield* verdictOf({ sealed: true, method: "POST", url: "/notify" }), "admit")
          assert.strictEqual(yield* verdictOf({ sealed: true, url: "/sealed/channel" }), "refuse 404")
          assert.strictEqual(yield* verdictOf({ sealed: true, method: "POST", url: "/mcp" }), "refuse 404")
          assert.strictEqual(yield* verdictOf({ sealed: true, url: "/relay/devices" }), "refuse 404")
        }))
    })
  }
)

layer(ConfigMemory("/nonexistent-repowire-home", { relay }))(
  "relay.e2e unset on a daemon that enables the relay",
  (it) => {
    it.effect("is required: the plain tunnel answers nothing but the pairing and the channel", () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* Config).values.relay.e2e, "required")
        assert.strictEqual(yield* verdictOf({}), "refuse 403")
        assert.strictEqual(yield* verdictOf({ method: "POST", url: "/notify" }), "refuse 403")
        assert.strictEqual(yield* verdictOf({ url: "/dashboard" }), "admit")
      }))
  }
)

layer(ConfigMemory("/nonexistent-repowire-home", { relay: { ...relay, e2e: "off" } }))(
  "relay.e2e: off",
  (it) => {
    it.effect("the plain tunnel answers its allow-list", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* verdictOf({}), "admit")
        assert.strictEqual(yield* verdictOf({ method: "POST", url: "/notify" }), "admit")
        assert.strictEqual(yield* verdictOf({ method: "POST", url: "/mcp" }), "refuse 404")
      }))
  }
)
