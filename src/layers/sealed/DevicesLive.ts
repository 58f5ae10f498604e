import { Clock, Effect, Layer, Option } from "effect"
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

    const revoke = Effect.fn("Devices.revoke")(function*(id: string) {
      const at = yield* Clock.currentTimeMillis
      const changed = yield* db.run("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id])
      const row = changed.changes === 0 ? Option.none() : yield* byId(id)
      if (Option.isNone(row)) return yield* new DeviceNotFound({ message: `no paired device ${id} (or it is revoked)` })
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
      admit
    })
  })
)
