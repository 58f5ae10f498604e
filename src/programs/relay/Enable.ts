import { Effect, Layer } from "effect"
import { loadConfig, updateConfigFile } from "../../layers/ConfigLive.js"
import { DaemonClientLive } from "../../layers/DaemonClientLive.js"
import { defaultDaemonId } from "../../layers/TunnelClientLive.js"
import { Config } from "../../services/Config.js"
import { DaemonClient } from "../../services/DaemonClient.js"
import { postForKey, relayApiBase, RelayCallError } from "./RelayClient.js"

export interface EnableRelayOptions {
  readonly url: string
  readonly label?: string | undefined
  /** Extra CA to trust (a relay with a self-signed certificate). */
  readonly ca?: string | Buffer | undefined
  readonly env?: NodeJS.ProcessEnv | undefined
}

/** Asks the local daemon to redial with the relay section just written; false when no daemon answers. */
const tellDaemon = (config: Config["Type"]) =>
  Effect.flatMap(DaemonClient, (client) => client.reconnectRelay).pipe(
    Effect.as(true),
    Effect.orElseSucceed(() => false),
    Effect.provide(DaemonClientLive.pipe(Layer.provide(Layer.succeed(Config, config))))
  )

/**
 * `setup --relay URL`: registers at the relay (which mints a fresh key for a new user), writes
 * relay.* to config.yaml (0600), and tells a running daemon to dial.
 */
export const enableRelay = (options: EnableRelayOptions) =>
  Effect.gen(function*() {
    const config = yield* loadConfig(options.env ?? process.env)
    const url = options.url.replace(/\/+$/, "")
    yield* Effect.try({ try: () => new URL(url), catch: () => new RelayCallError({ message: `not a URL: ${url}` }) })
    const issued = yield* postForKey(`${relayApiBase(url)}/api/register`, {
      body: options.label === undefined ? {} : { label: options.label },
      ca: options.ca
    })
    const daemonId = config.values.relay.daemon_id ?? defaultDaemonId()
    yield* updateConfigFile(config.paths, [
      { keyPath: ["relay", "enabled"], value: true },
      { keyPath: ["relay", "url"], value: url },
      { keyPath: ["relay", "api_key"], value: issued.api_key },
      { keyPath: ["relay", "daemon_id"], value: daemonId }
    ])
    const notified = yield* tellDaemon(config)
    return { user_id: issued.user_id, key_id: issued.key_id, daemon_id: daemonId, daemon_notified: notified }
  }).pipe(Effect.withSpan("Relay.enable"))

/**
 * `relay rotate-key`: the relay mints a new key and revokes the current one (ending its sessions
 * and tunnels); the new key goes into config.yaml and the running daemon redials with it.
 */
export const rotateKey = (
  options: { readonly ca?: string | Buffer | undefined; readonly env?: NodeJS.ProcessEnv } = {}
) =>
  Effect.gen(function*() {
    const config = yield* loadConfig(options.env ?? process.env)
    const { api_key, url } = config.values.relay
    if (url === null || api_key === null) {
      return yield* new RelayCallError({ message: "no relay is configured: run `repowire setup --relay URL` first" })
    }
    const issued = yield* postForKey(`${relayApiBase(url)}/api/rotate`, { bearer: api_key, ca: options.ca })
    yield* updateConfigFile(config.paths, [{ keyPath: ["relay", "api_key"], value: issued.api_key }])
    const notified = yield* tellDaemon(config)
    return { key_id: issued.key_id, revoked_key_id: issued.revoked_key_id ?? null, daemon_notified: notified }
  }).pipe(Effect.withSpan("Relay.rotateKey"))
