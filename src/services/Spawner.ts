import { Context, type Effect } from "effect"
import type { AmbiguousPeer, Forbidden, PeerNotFound, SpawnFailed, SpawnRefused } from "../protocol/Errors.js"
import type { Peer } from "../protocol/Peer.js"
import type { Killed, Spawned, SpawnRequest } from "../protocol/Spawn.js"

/**
 * Starts agents in new tmux windows and closes them again. Off until daemon.spawn is
 * configured; only windows this daemon opened (kept in SQLite) are ever closed.
 */
export class Spawner extends Context.Tag("repowire/Spawner")<Spawner, {
  /** Registers the new peer at once (named after its folder) and opens its window. */
  readonly spawn: (
    caller: Peer,
    request: SpawnRequest
  ) => Effect.Effect<Spawned, SpawnRefused | SpawnFailed | Forbidden | PeerNotFound | AmbiguousPeer>
  /** Closes a spawned peer's window and marks it offline. */
  readonly kill: (
    caller: Peer,
    ref: string
  ) => Effect.Effect<Killed, SpawnRefused | PeerNotFound | AmbiguousPeer | Forbidden>
}>() {}
