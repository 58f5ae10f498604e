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
import { SpawnerLive } from "./SpawnerLive.js"

/** The mesh services on the Database; needs Config, Attachments, TunnelClient and a Database. LocalApp comes from below (Server.ts), shared with the relay link. */
export const MeshServices = Layer.mergeAll(SchedulesLive, SpawnerLive, RolesLive).pipe(
  Layer.provideMerge(MessageRouterLive),
  Layer.provideMerge(PeerRegistryLive),
  Layer.provideMerge(Layer.mergeAll(DeliveriesLive, AsksLive, EventLogLive, TransportsLive)),
  Layer.provideMerge(Ids.Live)
)
