import type { Socket } from "@effect/platform"
import { Context, type Effect, type Scope } from "effect"

/**
 * The daemon's end of sealed channels (SPEC §9): a browser's one WebSocket through the relay,
 * a session handshake with a paired device, then every request inside it sealed.
 */
export class SealedChannels extends Context.Tag("repowire/SealedChannels")<SealedChannels, {
  /** Serves one channel until it closes, the device is revoked, or the handshake fails. */
  readonly serve: (socket: Socket.Socket) => Effect.Effect<void, never, Scope.Scope>
}>() {}
