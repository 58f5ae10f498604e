import { Context, Effect, Layer } from "effect"
import type { RelayStatus } from "../protocol/DaemonApi.js"

/**
 * The daemon's outbound link to the relay. It serves tunnelled requests in-process from the
 * daemon's own HTTP app, with `Tunnelled` set so only the allow-listed dashboard routes answer.
 */
export class TunnelClient extends Context.Tag("repowire/TunnelClient")<TunnelClient, {
  readonly status: Effect.Effect<RelayStatus>
  /** Re-reads the relay section of config.yaml and dials again (after a key rotation or setup). */
  readonly reconnect: Effect.Effect<RelayStatus>
}>() {
  static readonly Disabled = Layer.succeed(TunnelClient, {
    status: Effect.succeed<RelayStatus>({ status: "disabled", url: null, last_error: null, last_connected_at: null }),
    reconnect: Effect.succeed<RelayStatus>({ status: "disabled", url: null, last_error: null, last_connected_at: null })
  })
}
