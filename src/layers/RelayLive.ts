import type { SqlClient } from "@effect/sql"
import { Layer } from "effect"
import type { TunnelHolder } from "../services/TunnelDirectory.js"
import { ApiKeysLive } from "./ApiKeysLive.js"
import { type DaemonRetention, type KeepaliveOptions, RelayRouterLive } from "./RelayRouterLive.js"
import { RelaySessionsLive } from "./RelaySessionsLive.js"
import { RelayStoreLive } from "./RelayStoreLive.js"
import { TunnelDirectoryLive } from "./TunnelDirectoryLive.js"

/** Every relay service on one SQLite file (`:memory:` for tests). */
export const RelayLive = (filename: string, keepalive?: KeepaliveOptions, retention?: DaemonRetention) =>
  RelayLiveOn(RelayStoreLive(filename), keepalive, retention)

/**
 * Every relay service on a given store (SQLite or PostgreSQL: see relayStoreLayer). A replica
 * among several also names itself, so its tunnels go into the shared tunnel directory.
 */
export const RelayLiveOn = <E>(
  store: Layer.Layer<SqlClient.SqlClient, E>,
  keepalive?: KeepaliveOptions,
  retention?: DaemonRetention,
  replica?: TunnelHolder
) => {
  const services = Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive, retention))
  const placed = replica === undefined ? services : services.pipe(Layer.provide(TunnelDirectoryLive(replica)))
  return placed.pipe(Layer.provideMerge(store))
}
