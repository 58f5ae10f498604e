import type { SqlClient } from "@effect/sql"
import { Layer } from "effect"
import { ApiKeysLive } from "./ApiKeysLive.js"
import { type DaemonRetention, type KeepaliveOptions, RelayRouterLive } from "./RelayRouterLive.js"
import { RelaySessionsLive } from "./RelaySessionsLive.js"
import { RelayStoreLive } from "./RelayStoreLive.js"

/** Every relay service on one SQLite file (`:memory:` for tests). */
export const RelayLive = (filename: string, keepalive?: KeepaliveOptions, retention?: DaemonRetention) =>
  RelayLiveOn(RelayStoreLive(filename), keepalive, retention)

/** Every relay service on a given store (SQLite or PostgreSQL: see relayStoreLayer). */
export const RelayLiveOn = <E>(
  store: Layer.Layer<SqlClient.SqlClient, E>,
  keepalive?: KeepaliveOptions,
  retention?: DaemonRetention
) =>
  Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive, retention)).pipe(
    Layer.provideMerge(store)
  )
