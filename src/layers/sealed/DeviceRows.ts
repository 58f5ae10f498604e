import { Schema } from "effect"
import type { PairedDevice } from "../../protocol/sealed/Devices.js"

/** A `devices` row as SQLite returns it. */
export const DeviceRow = Schema.Struct({
  id: Schema.String,
  public_key: Schema.String,
  fingerprint: Schema.String,
  label: Schema.String,
  created_at: Schema.Number,
  last_seen: Schema.Number,
  revoked_at: Schema.NullOr(Schema.Number)
})
export type DeviceRow = typeof DeviceRow.Type

export const DEVICE_COLUMNS = "id, public_key, fingerprint, label, created_at, last_seen, revoked_at"

const iso = (ms: number) => new Date(ms).toISOString()

export const deviceOf = (row: DeviceRow): PairedDevice => ({
  id: row.id,
  label: row.label,
  fingerprint: row.fingerprint,
  created_at: iso(row.created_at),
  last_seen: iso(row.last_seen),
  revoked_at: row.revoked_at === null ? null : iso(row.revoked_at)
})
