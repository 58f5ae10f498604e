import { Layer } from "effect"
import { AttachmentsMemory } from "../../src/layers/AttachmentsMemory.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { MeshServices, meshServicesOver } from "../../src/programs/daemon/Services.js"
import type { Transports } from "../../src/services/Transports.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"

/** A home that is never read: in-memory layers only need its paths. */
export const MEMORY_HOME = "/nonexistent-repowire-home"

/** The daemon's mesh on SQLite in memory, with a config for the test; `transports` swaps the agents' connections. */
export const meshLayer = (config: Record<string, unknown> = {}, transports?: Layer.Layer<Transports>) =>
  (transports === undefined ? MeshServices : meshServicesOver(transports)).pipe(
    Layer.provideMerge(Layer.mergeAll(AttachmentsMemory, TunnelClient.Disabled)),
    Layer.provideMerge(SqliteMemory),
    Layer.provideMerge(ConfigMemory(MEMORY_HOME, config))
  )

