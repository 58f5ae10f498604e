import { Context, type Effect, type Option } from "effect"

/** The replica that holds a daemon's tunnel, and how other replicas reach it. */
export interface TunnelHolder {
  readonly replicaId: string
  readonly internalUrl: string
}

/**
 * Which replica holds which (user, daemon id) connection, shared through the relay's store. The
 * holder's rows carry a lease it renews; a replica that dies stops renewing and its rows lapse.
 */
export interface ReplicaDirectory {
  /** This replica. */
  readonly self: TunnelHolder
  /** This replica now holds the tunnel (a newer claim replaces any other replica's). */
  readonly claim: (userId: string, daemonId: string) => Effect.Effect<void>
  /** This replica no longer holds it (another replica's newer claim is left alone). */
  readonly release: (userId: string, daemonId: string) => Effect.Effect<void>
  /**
   * The replica whose lease on the tunnel is live, if any. Remembered for a moment, so a busy
   * tunnel's forwarded requests do not each ask the store; forgotten at once when the store
   * signals the row changed, or when `forget` says a hop to it failed.
   */
  readonly holder: (userId: string, daemonId: string) => Effect.Effect<Option.Option<TunnelHolder>>
  /** The same, read from the store now. */
  readonly holderNow: (userId: string, daemonId: string) => Effect.Effect<Option.Option<TunnelHolder>>
  /** What `holder` remembers of this tunnel is wrong (the hop to it failed): ask the store next time. */
  readonly forget: (userId: string, daemonId: string) => void
  /** The tunnels whose rows name this replica (lapsed or not): any other it holds was claimed since by another. */
  readonly mine: Effect.Effect<ReadonlyArray<{ readonly userId: string; readonly daemonId: string }>>
  /** The user's daemon ids some replica holds a live lease on. */
  readonly held: (userId: string) => Effect.Effect<ReadonlyArray<string>>
}

/** The directory of daemons' tunnels. */
export class TunnelDirectory extends Context.Tag("repowire/TunnelDirectory")<TunnelDirectory, ReplicaDirectory>() {}
