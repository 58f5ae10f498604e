import { Context, type Effect, type Option } from "effect"
import type { DeviceNotFound } from "../protocol/Errors.js"
import type { PairedDevice } from "../protocol/sealed/Devices.js"

/** The browsers paired with this daemon (SPEC §9). Revoked ones stay listed, marked. */
export class Devices extends Context.Tag("repowire/Devices")<Devices, {
  readonly list: Effect.Effect<ReadonlyArray<PairedDevice>>
  /** Revokes a device: its key no longer opens a session. */
  readonly revoke: (id: string) => Effect.Effect<PairedDevice, DeviceNotFound>
  /** The unrevoked device with this static public key, marked seen now. */
  readonly admit: (publicKey: Uint8Array) => Effect.Effect<Option.Option<PairedDevice>>
  /** Completes when the device is revoked (at once if it already is): its sessions end then. */
  readonly revoked: (id: string) => Effect.Effect<void>
}>() {}
