import { Layer } from "effect"
import { ApiKeysLive } from "./ApiKeysLive.js"
import { type KeepaliveOptions, RelayRouterLive } from "./RelayRouterLive.js"
import { RelaySessionsLive } from "./RelaySessionsLive.js"
import { RelayStoreLive } from "./RelayStoreLive.js"

/** Every relay service on one SQLite file (`:memory:` for tests). */
export const RelayLive = (filename: string, keepalive?: KeepaliveOptions) =>
  Layer.mergeAll(ApiKeysLive, RelaySessionsLive, RelayRouterLive(keepalive)).pipe(
    Layer.provideMerge(RelayStoreLive(filename))
  )
