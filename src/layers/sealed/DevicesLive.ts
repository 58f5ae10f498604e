import { Clock, Deferred, Effect, Layer, Option } from "effect"
import { DeviceNotFound } from "../../protocol/Errors.js"
import { toHex } from "../../protocol/sealed/Bytes.js"
import type { PairedDevice } from "../../protocol/sealed/Devices.js"
import { Database } from "../../services/Database.js"
import { Devices } from "../../services/Devices.js"
import { DEVICE_COLUMNS, deviceOf, DeviceRow } from "./DeviceRows.js"

/** Paired devices in the daemon's SQLite store. */
export const DevicesLive = Layer.effect(
  Devices,
  Effect.gen(function*() {
    const db = yield* Database
    const byId = (id: string) => db.one(DeviceRow, `SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`, [id])
    // One signal per device that has sessions waiting on it; completed and dropped on revocation.
    const signals = new Map<string, Deferred.Deferred<void>>()

    const revoked = (id: string) =>
      Effect.gen(function*() {
        // The signal first, then the row: a revocation in between completes the signal.
        let signal = signals.get(id)
        if (signal === undefined) {
          signal = yield* Deferred.make<void>()
          signals.set(id, signal)
        }
        const row = yield* byId(id)
        if (Option.isNone(row) || row.value.revoked_at !== null) {
          signals.delete(id)
          return
        }
        yield* Deferred.await(signal)
      })

    const revoke = Effect.fn("Devices.revoke")(function*(id: string) {
      const at = yield* Clock.currentTimeMillis
      const changed = yield* db.run("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id])
      const row = changed.changes === 0 ? Option.none() : yield* byId(id)
      if (Option.isNone(row)) return yield* new DeviceNotFound({ message: `no paired device ${id} (or it is revoked)` })
      const signal = signals.get(id)
      signals.delete(id)
      if (signal !== undefined) yield* Deferred.succeed(signal, undefined)
      return deviceOf(row.value)
    })

    const admit = Effect.fn("Devices.admit")(function*(publicKey: Uint8Array) {
      const at = yield* Clock.currentTimeMillis
      return db.now.transaction((): Option.Option<PairedDevice> => {
        const row = db.now.one(
          DeviceRow,
          `SELECT ${DEVICE_COLUMNS} FROM devices WHERE public_key = ? AND revoked_at IS NULL`,
          [toHex(publicKey)]
        )
        if (Option.isNone(row)) return Option.none()
        db.now.run("UPDATE devices SET last_seen = ? WHERE id = ?", [at, row.value.id])
        return Option.some(deviceOf({ ...row.value, last_seen: at }))
      })
    })

    return Devices.of({
      list: Effect.map(
        db.all(DeviceRow, `SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY created_at, id`),
        (rows) => rows.map(deviceOf)
      ),
      revoke,
      admit,
      revoked
    })
  })
)
