import type { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import type { TunnelHolder } from "../services/TunnelDirectory.js"
import { ApiKeysLive } from "./ApiKeysLive.js"
import { type DaemonRetention, type KeepaliveOptions, RelayRouterLive } from "./RelayRouterLive.js"
import { RelaySessionsLive } from "./RelaySessionsLive.js"
import { RelayStoreLive } from "./RelayStoreLive.js"
import { MeshDirectoryLive, TunnelDirectoryLive } from "./TunnelDirectoryLive.js"

/** Every relay service on one SQLite file (`:memory:` for tests). */
export const RelayLive = (filename: string, keepalive?: KeepaliveOptions, retention?: DaemonRetention) =>
  RelayLiveOn(RelayStoreLive(filename), keepalive, retention)

/** The store's signals, loaded only for a replica (the PostgreSQL client comes with them). */
const clusterSignals = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("./ClusterSignalsPg.js")), (m) => m.ClusterSignalsPg)
)

/**
 * Every relay service on a given store (SQLite or PostgreSQL: see relayStoreLayer). A replica
 * among several also names itself, so its tunnels go into the shared tunnel directory (and its
 * daemons' mesh sockets into the mesh directory), and hears the other replicas' revocations and
 * claims through the store's signals.
 */
export const RelayLiveOn = <E>(
  store: Layer.Layer<SqlClient.SqlClient, E>,
  keepalive?: KeepaliveOptions,
  retention?: DaemonRetention,
  replica?: TunnelHolder
) => {
  const services = Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive, retention))
  const placed = replica === undefined
    ? services
    : Layer.merge(services, MeshDirectoryLive(replica)).pipe(
      Layer.provideMerge(TunnelDirectoryLive(replica).pipe(Layer.provideMerge(clusterSignals)))
    )
  return placed.pipe(Layer.provideMerge(store))
}
