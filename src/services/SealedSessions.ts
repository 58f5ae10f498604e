import { Context, type Effect } from "effect"
import type { PairedDevice } from "../protocol/sealed/Devices.js"
import type { HandshakeFailed } from "../protocol/sealed/SealedErrors.js"
import type { SealedSession } from "../protocol/sealed/Session.js"

/** A session a paired device opened: its record keys, the device, and when it must end. */
export interface OpenSession {
  readonly session: SealedSession
  readonly device: PairedDevice
  /** Completes when the device is revoked: the session's streams end at once. */
  readonly revoked: Effect.Effect<void>
}

/** A session handshake after the daemon's reply, waiting for the browser's last message. */
export interface SessionHandshake {
  readonly reply: Uint8Array
  readonly finish: (message: Uint8Array) => Effect.Effect<OpenSession, HandshakeFailed>
}

/**
 * The daemon's side of the sealed session handshake (Noise_XX): its identity key, and only a
 * paired, unrevoked device's key accepted at the end.
 */
export class SealedSessions extends Context.Tag("repowire/SealedSessions")<SealedSessions, {
  readonly begin: (message: Uint8Array) => Effect.Effect<SessionHandshake, HandshakeFailed>
}>() {}
