import { Layer } from "effect"
import { AsksLive } from "../../layers/AsksLive.js"
import { DeliveriesLive } from "../../layers/DeliveriesLive.js"
import { EventLogLive } from "../../layers/EventLogLive.js"
import { MessageRouterLive } from "../../layers/MessageRouterLive.js"
import { PeerRegistryLive } from "../../layers/PeerRegistryLive.js"
import { RolesLive } from "../../layers/RolesLive.js"
import { SchedulesLive } from "../../layers/SchedulesLive.js"
import { TransportsLive } from "../../layers/TransportsLive.js"
import { Ids } from "../../services/Ids.js"
import type { Transports } from "../../services/Transports.js"
import { SpawnerLive } from "./SpawnerLive.js"

/** The mesh services over the given agent connections: unit tests pass a fake `Transports`. */
export const meshServicesOver = <E, R>(transports: Layer.Layer<Transports, E, R>) =>
  Layer.mergeAll(SchedulesLive, SpawnerLive, RolesLive).pipe(
    Layer.provideMerge(MessageRouterLive),
    Layer.provideMerge(PeerRegistryLive),
    Layer.provideMerge(Layer.mergeAll(DeliveriesLive, AsksLive, EventLogLive, transports)),
    Layer.provideMerge(Ids.Live)
  )

/** The mesh services on the Database; needs Config, Attachments, TunnelClient and a Database. LocalApp comes from below (Server.ts), shared with the relay link. */
export const MeshServices = meshServicesOver(TransportsLive)
