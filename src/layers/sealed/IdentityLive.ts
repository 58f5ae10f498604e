import { Effect, Layer } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fromBase64Url } from "../../protocol/sealed/Bytes.js"
import { fingerprintOf } from "../../protocol/sealed/Pairing.js"
import { importPkcs8KeyPair } from "../../protocol/sealed/Primitives.js"
import { Config } from "../../services/Config.js"
import { SealedIdentity } from "../../services/SealedIdentity.js"

/** `$REPOWIRE_HOME/identity/`: 0700, its key files 0600, each made once and never rewritten. */
export const identityDir = (home: string) => path.join(home, "identity")
export const X25519_FILE = "x25519.key"
export const ED25519_FILE = "ed25519.key"

const privateOnly = (file: string, mode: number) => {
  if ((fs.statSync(file).mode & 0o777) !== mode) fs.chmodSync(file, mode)
}

/** The PKCS#8 PEM private key in `file`, made first when there is none. */
const ensureKey = (file: string, type: "x25519" | "ed25519"): crypto.KeyObject => {
  if (!fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync(type as "x25519")
    try {
      fs.writeFileSync(file, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" })
    } catch (e) {
      // Another process made it first: theirs is the identity.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
  }
  privateOnly(file, 0o600)
  return crypto.createPrivateKey(fs.readFileSync(file))
}

const rawPublic = (key: crypto.KeyObject) => fromBase64Url(crypto.createPublicKey(key).export({ format: "jwk" }).x!)!

/** An identity from its two private keys. */
export const makeIdentity = (x25519: crypto.KeyObject, ed25519: crypto.KeyObject) =>
  Effect.gen(function*() {
    const der = x25519.export({ format: "der", type: "pkcs8" })
    const staticKey = yield* Effect.orDie(importPkcs8KeyPair(new Uint8Array(der)))
    return SealedIdentity.of({
      staticKey,
      fingerprint: yield* fingerprintOf(staticKey.publicKey),
      signingPublicKey: rawPublic(ed25519),
      sign: (data) => Effect.sync(() => new Uint8Array(crypto.sign(null, data, ed25519)))
    })
  })

/** The daemon's identity under its home, made on first use. */
export const SealedIdentityLive = Layer.effect(
  SealedIdentity,
  Effect.gen(function*() {
    const { paths } = yield* Config
    const dir = identityDir(paths.home)
    const keys = yield* Effect.sync(() => {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      privateOnly(dir, 0o700)
      return {
        x25519: ensureKey(path.join(dir, X25519_FILE), "x25519"),
        ed25519: ensureKey(path.join(dir, ED25519_FILE), "ed25519")
      }
    })
    return yield* makeIdentity(keys.x25519, keys.ed25519)
  })
)

/** A fresh identity in memory, for tests and benches. */
export const SealedIdentityMemory = Layer.effect(
  SealedIdentity,
  Effect.suspend(() =>
    makeIdentity(crypto.generateKeyPairSync("x25519").privateKey, crypto.generateKeyPairSync("ed25519").privateKey)
  )
)
