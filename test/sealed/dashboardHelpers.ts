import { Effect } from "effect"
import type { Page } from "playwright-core"
import { callApi, waitFor } from "../dashboard/e2eHelpers.js"
import { mintKey, startRelay } from "../relay/harness.js"
import { startDaemon } from "../support/Daemon.js"
import { asHuman, request as local } from "../support/Http.js"
import { recordingHop } from "./wire.js"

type Home = { readonly url: string; readonly home: string }

/** A plain relay (as behind a TLS proxy), a recording hop before it, and a daemon with `e2e: required` dialling the hop. */
export const sealedRelay = Effect.gen(function*() {
  const relay = yield* startRelay({ cert: Buffer.alloc(0), key: Buffer.alloc(0) }, { tls: undefined })
  const key = yield* mintKey("carol")
  const hop = yield* recordingHop(relay.port)
  const relayConfig = {
    enabled: true,
    url: `ws://127.0.0.1:${hop.port}`,
    api_key: key,
    daemon_id: "laptop",
    e2e: "required"
  }
  const daemon = yield* Effect.acquireRelease(
    Effect.promise(() => startDaemon({ relay: relayConfig })),
    (d) => Effect.promise(() => d.close())
  )
  yield* Effect.promise(() =>
    waitFor("the relay link", async () => {
      const h = await callApi<{ relay: { status: string } }>(daemon.url, "GET", "/health")
      return h.body.relay.status === "connected" ? true : undefined
    })
  )
  return { relay, key, hop, daemon }
})

/** `repowire relay pair`'s call: a one-time secret and the daemon's fingerprint. */
export const mintTicket = async (daemon: Home) =>
  (await local(daemon.url, "POST", "/relay/pair", { headers: asHuman(daemon.home) })).body as {
    secret: string
    daemon_fingerprint: string
  }

export const listDevices = async (daemon: Home) =>
  (await local(daemon.url, "GET", "/relay/devices", { headers: asHuman(daemon.home) })).body.devices as ReadonlyArray<
    { id: string; revoked_at: string | null }
  >

export const revokeDevice = (daemon: Home, id: string) =>
  local(daemon.url, "DELETE", `/relay/devices/${id}`, { headers: asHuman(daemon.home) })

/** Waits until the loader says it reached one of `states` (`html[data-sealed]`). */
export const sealedState = (page: Page, ...states: ReadonlyArray<string>) =>
  page.locator(states.map((s) => `html[data-sealed=${s}]`).join(", ")).waitFor({ state: "attached", timeout: 20_000 })
