import { Layer } from "effect"
import { AttachmentsMemory } from "../../src/layers/AttachmentsMemory.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { MeshServices } from "../../src/programs/daemon/Services.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"

/** The mesh services on SQLite in memory, with a config for the test. */
export const meshLayer = (config: Record<string, unknown> = {}) =>
  MeshServices.pipe(
    Layer.provideMerge(Layer.mergeAll(AttachmentsMemory, TunnelClient.Disabled)),
    Layer.provideMerge(SqliteMemory),
    Layer.provideMerge(ConfigMemory("/nonexistent-repowire-home", config))
  )
