import { Context, type Effect, type Scope } from "effect"
import type { ClusterSignal } from "../protocol/ClusterSignal.js"

/**
 * Changes every replica must hear at once: revoked keys, tunnels that moved. Present only on a
 * store that can broadcast (PostgreSQL); without it, replicas find out at their next check.
 */
export class ClusterSignals extends Context.Tag("repowire/ClusterSignals")<ClusterSignals, {
  /** Calls `listener` with each signal until the scope closes. */
  readonly subscribe: (listener: (signal: ClusterSignal) => void) => Effect.Effect<void, never, Scope.Scope>
}>() {}
