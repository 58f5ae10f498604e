import { Layer } from "effect"
import { ApiKeysLive } from "./ApiKeysLive.js"
import { type DaemonRetention, type KeepaliveOptions, RelayRouterLive } from "./RelayRouterLive.js"
import { RelaySessionsLive } from "./RelaySessionsLive.js"
import { RelayStoreLive } from "./RelayStoreLive.js"

/** Every relay service on one SQLite file (`:memory:` for tests). */
export const RelayLive = (filename: string, keepalive?: KeepaliveOptions, retention?: DaemonRetention) =>
  Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive, retention)).pipe(
    Layer.provideMerge(RelayStoreLive(filename))
  )
