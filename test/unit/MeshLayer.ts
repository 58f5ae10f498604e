import { Effect, Layer } from "effect"
import { AttachmentNotFound } from "../../src/protocol/Errors.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { SqliteMemory } from "../../src/layers/Sqlite.js"
import { MeshServices } from "../../src/programs/daemon/Services.js"
import { Attachments } from "../../src/services/Attachments.js"
import { TunnelClient } from "../../src/services/TunnelClient.js"

const NoAttachments = Layer.succeed(Attachments, {
  resolve: (ids) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.fail(new AttachmentNotFound({ message: `unknown ${ids[0]}` }))
})

/** The mesh services on SQLite in memory, with a config for the test. */
export const meshLayer = (config: Record<string, unknown> = {}) =>
  MeshServices.pipe(
    Layer.provideMerge(Layer.mergeAll(NoAttachments, TunnelClient.Disabled)),
    Layer.provideMerge(SqliteMemory),
    Layer.provideMerge(ConfigMemory("/nonexistent-repowire-home", config))
  )
