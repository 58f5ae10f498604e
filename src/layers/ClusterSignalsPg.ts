import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Schedule, Schema, Stream } from "effect"
import { CLUSTER_CHANNEL, type ClusterSignal, ClusterSignalJson } from "../protocol/ClusterSignal.js"
import { ClusterSignals } from "../services/ClusterSignals.js"

const decode = Schema.decodeUnknownOption(ClusterSignalJson)

type Listener = (signal: ClusterSignal) => void

const listen = (pg: PgClient.PgClient, listeners: ReadonlySet<Listener>) =>
  pg.listen(CLUSTER_CHANNEL).pipe(
    Stream.runForEach((payload) =>
      Effect.sync(() => Option.map(decode(payload), (signal) => listeners.forEach((listener) => listener(signal))))
    ),
    Effect.tapErrorCause((cause) => Effect.logWarning("cluster signals: LISTEN failed, retrying", cause)),
    Effect.retry(Schedule.spaced("1 second")),
    Effect.forkScoped
  )

/**
 * The store's notifications on one LISTEN connection, fanned out to this process's listeners;
 * on a store that is not PostgreSQL (a lone replica on SQLite, in tests), never a signal. A lost
 * connection is not reported by the client: the periodic checks (revoked keys, tunnel
 * keepalives) stay as the fallback.
 */
export const ClusterSignalsPg = Layer.scoped(
  ClusterSignals,
  Effect.gen(function*() {
    // PgClient.layer provides it beside SqlClient; the store's type only names the latter.
    const pg = yield* Effect.serviceOption(PgClient.PgClient)
    const listeners = new Set<Listener>()
    if (Option.isSome(pg)) yield* listen(pg.value, listeners)
    return ClusterSignals.of({
      subscribe: (listener) =>
        Effect.acquireRelease(
          Effect.sync(() => listeners.add(listener)),
          () => Effect.sync(() => listeners.delete(listener))
        ).pipe(Effect.asVoid)
    })
  })
)
