import { Context } from "effect"
import type { ReplicaDirectory } from "./TunnelDirectory.js"

/**
 * The directory of daemons' `/mesh` sockets: a daemon's tunnel and its mesh socket are two
 * connections, which a load balancer may give to different replicas.
 */
export class MeshDirectory extends Context.Tag("repowire/MeshDirectory")<MeshDirectory, ReplicaDirectory>() {}
