import { Either, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AuditCheckpoint } from "../../protocol/Audit.js"

/** `$REPOWIRE_HOME/relay-audit.json`: per relay, the newest checkpoint this machine verified. */
export const PIN_FILE = "relay-audit.json"

const Pin = Schema.Struct({ user_id: Schema.String, public_key: Schema.String, checkpoint: AuditCheckpoint })
export type Pin = typeof Pin.Type
const Pins = Schema.Struct({ relays: Schema.Record({ key: Schema.String, value: Pin }) })
const decodePins = Schema.decodeUnknownEither(Schema.parseJson(Pins))

const read = (home: string) => {
  const file = path.join(home, PIN_FILE)
  if (!fs.existsSync(file)) return { relays: {} }
  const decoded = decodePins(fs.readFileSync(file, "utf8"))
  if (Either.isLeft(decoded)) throw new Error(`${file} is not a repowire audit pin file`)
  return decoded.right
}

export const readPin = (home: string, relay: string): Pin | undefined => read(home).relays[relay]

export const writePin = (home: string, relay: string, pin: Pin) => {
  const file = path.join(home, PIN_FILE)
  const next = { relays: { ...read(home).relays, [relay]: pin } }
  const temp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temp, JSON.stringify(next, null, 2), { mode: 0o600 })
  fs.renameSync(temp, file)
}
