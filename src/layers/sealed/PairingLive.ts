import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { PairingRefused } from "../../protocol/Errors.js"
import { fromHex, toHex, utf8 } from "../../protocol/sealed/Bytes.js"
import type { PairedDevice } from "../../protocol/sealed/Devices.js"
import type { Handshake } from "../../protocol/sealed/Handshake.js"
import {
  acceptPairing,
  fingerprintOf,
  formatPairingSecret,
  newPairingSecret,
  pairingPsk
} from "../../protocol/sealed/Pairing.js"
import { SealedSession } from "../../protocol/sealed/Session.js"
import { Database } from "../../services/Database.js"
import { Pairing, PAIRING_TTL_MS } from "../../services/Pairing.js"
import { SealedIdentity } from "../../services/SealedIdentity.js"
import { deviceOf } from "./DeviceRows.js"

const SecretRow = Schema.Struct({
  psk: Schema.String,
  expires_at: Schema.Number,
  used_at: Schema.NullOr(Schema.Number)
})

/** Handshakes between their first and last message; secrets are few and short-lived. */
const MAX_PENDING = 32
const MAX_LABEL = 64

const refused = (message: string) => new PairingRefused({ message })
const again = "run `repowire relay pair` for a new link"

const labelOf = (payload: Uint8Array) => {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(payload).replace(/[\p{Cc}\p{Cf}]/gu, "").trim()
  return text === "" ? "browser" : [...text].slice(0, MAX_LABEL).join("")
}

const newDeviceId = () => `dev_${toHex(globalThis.crypto.getRandomValues(new Uint8Array(6)))}`

/** Pairing secrets in the daemon's SQLite store; the psk is kept, the link's key never is. */
export const PairingLive = Layer.effect(
  Pairing,
  Effect.gen(function*() {
    const db = yield* Database
    const identity = yield* SealedIdentity
    const pending = new Map<string, Handshake>()

    /** The psk of a secret that may still be used at `at`. */
    const usableNow = (id: string, at: number) => {
      const row = db.now.one(SecretRow, "SELECT psk, expires_at, used_at FROM pairing_secrets WHERE id = ?", [id])
      if (Option.isNone(row)) return Effect.fail(refused(`this pairing link is not known to the daemon; ${again}`))
      if (row.value.used_at !== null) return Effect.fail(refused(`this pairing link was already used; ${again}`))
      if (row.value.expires_at <= at) {
        return Effect.fail(refused(`this pairing link expired (links last 10 minutes); ${again}`))
      }
      return Effect.succeed(fromHex(row.value.psk))
    }

    const mint = Effect.gen(function*() {
      const secret = newPairingSecret()
      const psk = yield* pairingPsk(secret.key)
      const at = yield* Clock.currentTimeMillis
      yield* db.run("INSERT INTO pairing_secrets (id, psk, created_at, expires_at) VALUES (?, ?, ?, ?)", [
        secret.id,
        toHex(psk),
        at,
        at + PAIRING_TTL_MS
      ])
      // Spent and expired secrets are of no further use: cleared here rather than by a timer.
      yield* db.run("DELETE FROM pairing_secrets WHERE expires_at <= ?", [at - PAIRING_TTL_MS])
      return { secret: Redacted.make(formatPairingSecret(secret)), expiresAt: at + PAIRING_TTL_MS }
    }).pipe(Effect.withSpan("Pairing.mint"))

    const begin = Effect.fn("Pairing.begin")(function*(secretId: string, message: Uint8Array) {
      const psk = yield* usableNow(secretId, yield* Clock.currentTimeMillis)
      const handshake = yield* acceptPairing(identity.staticKey, psk)
      yield* handshake.readMessage(message)
      const reply = yield* handshake.writeMessage(new Uint8Array(0))
      pending.delete(secretId)
      if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!)
      pending.set(secretId, handshake)
      return reply
    })

    const finish = Effect.fn("Pairing.finish")(function*(secretId: string, message: Uint8Array) {
      const handshake = pending.get(secretId)
      if (handshake === undefined) {
        return yield* refused(`no pairing handshake is under way for this link; ${again}`)
      }
      pending.delete(secretId)
      const payload = yield* handshake.readMessage(message)
      const result = handshake.complete!
      const at = yield* Clock.currentTimeMillis
      const fingerprint = yield* fingerprintOf(result.remoteStatic)
      const device: PairedDevice = yield* db.transaction(Effect.gen(function*() {
        yield* usableNow(secretId, at)
        db.now.run("UPDATE pairing_secrets SET used_at = ? WHERE id = ?", [at, secretId])
        // A browser that pairs again with the same key gets its device back, unrevoked.
        const row = {
          id: newDeviceId(),
          public_key: toHex(result.remoteStatic),
          fingerprint,
          label: labelOf(payload),
          created_at: at,
          last_seen: at,
          revoked_at: null
        }
        db.now.run(
          `INSERT INTO devices (id, public_key, fingerprint, label, created_at, last_seen, revoked_at)
           VALUES (?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (public_key) DO UPDATE SET label = excluded.label, last_seen = excluded.last_seen,
             revoked_at = NULL`,
          [row.id, row.public_key, row.fingerprint, row.label, at, at]
        )
        const stored = db.now.one(
          Schema.Struct({ id: Schema.String, created_at: Schema.Number }),
          "SELECT id, created_at FROM devices WHERE public_key = ?",
          [row.public_key]
        )
        return deviceOf({ ...row, ...Option.getOrThrow(stored) })
      }))
      const session = SealedSession.fromHandshake(result)
      const sealer = yield* Effect.orDie(session.outgoing(0))
      const confirmation = yield* Effect.orDie(
        sealer.seal(utf8(JSON.stringify({ device_id: device.id, daemon_fingerprint: identity.fingerprint })))
      )
      return { device, confirmation }
    })

    return Pairing.of({ mint, begin, finish })
  })
)
