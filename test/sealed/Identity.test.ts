import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as crypto from "node:crypto"
import { chmodSync, statSync } from "node:fs"
import * as path from "node:path"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { identityDir, SealedIdentityLive, X25519_FILE } from "../../src/layers/sealed/IdentityLive.js"
import { fingerprintOf } from "../../src/protocol/sealed/Pairing.js"
import { SealedIdentity } from "../../src/services/SealedIdentity.js"
import { tempHome } from "../support/Daemon.js"

const identityAt = (home: string) =>
  Effect.provide(SealedIdentity, SealedIdentityLive.pipe(Layer.provide(ConfigMemory(home, {}))))

describe("the daemon's identity under $REPOWIRE_HOME/identity", () => {
  it.effect("is made once, private, and the same key after a restart; its signatures verify", () =>
    Effect.gen(function*() {
      const home = yield* Effect.promise(() => tempHome())
      const first = yield* identityAt(home)
      const dir = identityDir(home)
      assert.strictEqual(statSync(dir).mode & 0o777, 0o700)
      assert.strictEqual(statSync(path.join(dir, X25519_FILE)).mode & 0o777, 0o600)
      assert.strictEqual(first.fingerprint, yield* fingerprintOf(first.staticKey.publicKey))

      // A file loosened by hand is made private again; the key itself stays.
      chmodSync(path.join(dir, X25519_FILE), 0o644)
      const second = yield* identityAt(home)
      assert.strictEqual(statSync(path.join(dir, X25519_FILE)).mode & 0o777, 0o600)
      assert.strictEqual(second.fingerprint, first.fingerprint)

      const data = new TextEncoder().encode("daemon says")
      const signature = yield* second.sign(data)
      const publicKey = crypto.createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(second.signingPublicKey).toString("base64url") },
        format: "jwk"
      })
      assert.isTrue(crypto.verify(null, data, publicKey, signature))
    }))
})
