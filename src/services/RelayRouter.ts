import { Context, type Effect, type Option, type Scope } from "effect"
import type { TunnelHolder } from "./TunnelDirectory.js"

/** Who a tunnel belongs to: fixed when the daemon connects with its key. */
export interface TunnelInfo {
  readonly userId: string
  readonly keyId: string
  readonly daemonId: string
}

/**
 * One connected daemon, as the relay's table sees it. How browser traffic is streamed into it
 * is the streaming core's business (`ProxyLink` in `layers/tunnel/relay`), not the table's.
 */
export interface TunnelLink {
  readonly info: TunnelInfo
  readonly connectedAt: string
  readonly isOpen: boolean
  readonly activeStreams: number
  /** Bytes written to the daemon's socket that it has not taken yet. */
  readonly queuedBytes: number
  keepalive(now: number, deadAfterMs: number): void
  goAway(reason: string): void
  close(code: number, reason: string): void
}

/**
 * Other sockets a daemon holds with its key (the `/mesh` switch's): when a key is revoked,
 * however the relay hears of it (here, another process, another replica), they close too.
 */
export interface KeyHolders {
  /** Whether any socket is held now (the periodic check of revoked keys runs only then). */
  readonly active: () => boolean
  readonly closeKey: (keyId: string, reason: string) => void
}

export interface DaemonSeen {
  readonly daemon_id: string
  readonly connected: boolean
  readonly last_seen: string
}

/** The relay's table of live tunnels, keyed by user and daemon id. Users never see each other's. */
export class RelayRouter extends Context.Tag("repowire/RelayRouter")<RelayRouter, {
  /**
   * Adds a tunnel; an older tunnel of the same user and daemon id is closed. A key with
   * `maxPerKey` tunnels open already gets this one closed (4029) instead: false.
   */
  readonly attach: (link: TunnelLink, maxPerKey: number) => Effect.Effect<boolean>
  readonly detach: (link: TunnelLink) => Effect.Effect<void>
  readonly find: (userId: string, daemonId: string) => Effect.Effect<Option.Option<TunnelLink>>
  /** `find` on the spot (the table is in memory), for the relay's proxy path. */
  readonly findNow: (userId: string, daemonId: string) => Option.Option<TunnelLink>
  /** Another replica that holds the tunnel, when this one does not (none without a tunnel directory). */
  readonly elsewhere: (userId: string, daemonId: string) => Effect.Effect<Option.Option<TunnelHolder>>
  /** The replica `elsewhere` named did not serve the tunnel (unreachable, or no longer its holder): ask afresh next time. */
  readonly missedElsewhere: (userId: string, daemonId: string) => void
  /** The user's daemons: connected ones (here or on another replica) first, then those seen before. */
  readonly daemons: (userId: string) => Effect.Effect<ReadonlyArray<DaemonSeen>>
  /** Ends every tunnel (and every socket of the `holders`) that authenticated with this key. */
  readonly closeKey: (keyId: string, reason: string) => Effect.Effect<number>
  /** Adds sockets that a revoked key must close as well, until the scope closes. */
  readonly holdKeys: (holders: KeyHolders) => Effect.Effect<void, never, Scope.Scope>
  /** Sends GOAWAY to every tunnel (relay shutdown). */
  readonly drainAll: (reason: string) => Effect.Effect<void>
  /** Closes every tunnel now; their unanswered browser requests get 502. */
  readonly closeAll: (reason: string) => Effect.Effect<void>
  readonly counts: Effect.Effect<{ readonly tunnels: number; readonly streams: number; readonly queuedBytes: number }>
}>() {}
