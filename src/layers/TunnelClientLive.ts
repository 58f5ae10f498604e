import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import { hostname } from "node:os"
import type { ConfigFile } from "../protocol/ConfigFile.js"
import type { RelayStatus } from "../protocol/DaemonApi.js"
import { Config } from "../services/Config.js"
import { LocalApp } from "../services/LocalApp.js"
import { TunnelClient } from "../services/TunnelClient.js"
import { decodeConfigValues, readConfigDocument } from "./ConfigLive.js"
import { type AppContext, DaemonStreams, type TunnelApp } from "./tunnel/daemon/DaemonStreams.js"
import { defaultDialerOptions, Dialer, type DialerOptions, type RelaySettings } from "./tunnel/daemon/Dialer.js"

export type { TunnelApp } from "./tunnel/daemon/DaemonStreams.js"

export const settingsOf = (values: ConfigFile): RelaySettings | undefined => {
  const { api_key, daemon_id, enabled, url } = values.relay
  if (!enabled || url === null || api_key === null) return undefined
  return { url, apiKey: Redacted.make(api_key), daemonId: daemon_id ?? defaultDaemonId() }
}

/** The relay's name for this daemon when config.yaml sets none: the host name, made URL-safe. */
export const defaultDaemonId = () => hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64) || "daemon"

/**
 * The daemon's relay link. `app` is the daemon's own (guarded) HTTP app: tunnelled requests
 * run through it in-process with `Tunnelled` set. When the relay is disabled in config the
 * client idles until `reconnect` finds it enabled.
 */
export const TunnelClientLive = <E, R>(app: TunnelApp<E, R>, options: Partial<DialerOptions> = {}) =>
  Layer.scoped(
    TunnelClient,
    Effect.gen(function*() {
      const config = yield* Config
      const runtime = yield* Effect.runtime<AppContext<R>>()
      const dialer = new Dialer({ ...defaultDialerOptions, ...options }, (link) => {
        const streams = new DaemonStreams(app, runtime, link)
        return { onFrame: (data) => streams.receive(data), onClose: () => streams.closeAll() }
      })
      yield* Effect.acquireRelease(
        Effect.sync(() => dialer.configure(settingsOf(config.values))),
        () => Effect.sync(() => dialer.stop())
      )
      const reconnect = Effect.gen(function*() {
        const doc = yield* readConfigDocument(config.paths)
        const values = yield* decodeConfigValues(config.paths, doc.toJS(), process.env)
        dialer.configure(settingsOf(values))
        return dialer.status
      }).pipe(
        Effect.catchAll((e) =>
          Effect.sync((): RelayStatus => ({ ...dialer.status, last_error: `config not reloaded: ${e.message}` }))
        ),
        Effect.withSpan("TunnelClient.reconnect")
      )
      return TunnelClient.of({ status: Effect.sync(() => dialer.status), reconnect })
    })
  )

/** Extra CA for a relay with a private or self-signed certificate (NODE_EXTRA_CA_CERTS works too). */
const caFromEnv = (): Buffer | undefined => {
  const file = process.env.REPOWIRE_RELAY_CA_FILE
  return file === undefined || file === "" ? undefined : fs.readFileSync(file)
}

/**
 * The daemon's wiring: the relay link serves tunnelled requests from the app the server put in
 * LocalApp (waiting for it while the server starts).
 */
export const TunnelClientLocal = (options: Partial<DialerOptions> = {}) =>
  Layer.unwrapEffect(
    Effect.map(LocalApp, (local) => {
      const ca = options.ca ?? caFromEnv()
      return TunnelClientLive(Effect.flatten(local.app), { ...options, ...(ca === undefined ? {} : { ca }) })
    })
  )
