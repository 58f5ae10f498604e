import { Effect } from "effect"
import * as Core from "./core/Crypto.js"
import { DecryptFailed, DhFailed, type KeyPair } from "./core/Crypto.js"

/**
 * The Noise crypto functions (suite 25519_AESGCM_SHA256, over WebCrypto) as effects, for the
 * daemon. Each is the Effect-free core's (./core/Crypto.ts), which the browser's loader uses
 * directly; test/sealed/CoreEquivalence.test.ts holds the two faces to the same bytes.
 */

export { DecryptFailed, DhFailed, DHLEN, HASHLEN, type KeyPair, nonceBytes } from "./core/Crypto.js"

const dhFailed = (e: unknown) => (e instanceof DhFailed ? e : new DhFailed())

export const generateKeyPair = (extractable = false): Effect.Effect<KeyPair> =>
  Effect.promise(() => Core.generateKeyPair(extractable))

export const importPkcs8KeyPair = (pkcs8: Uint8Array): Effect.Effect<KeyPair, DhFailed> =>
  Effect.tryPromise({ try: () => Core.importPkcs8KeyPair(pkcs8), catch: dhFailed })

/** A key pair from 32 raw private bytes (the test vectors' form). */
export const importRawKeyPair = (raw: Uint8Array): Effect.Effect<KeyPair, DhFailed> =>
  Effect.tryPromise({ try: () => Core.importRawKeyPair(raw), catch: dhFailed })

/** DH(key_pair, public_key): X25519; an all-zero result (small-order point) fails. */
export const dh = (pair: KeyPair, publicKey: Uint8Array): Effect.Effect<Uint8Array, DhFailed> =>
  Effect.tryPromise({ try: () => Core.dh(pair, publicKey), catch: dhFailed })

/** The AES-GCM key of a Noise cipher key, imported once per key. */
export const aesKey = (k: Uint8Array): Effect.Effect<CryptoKey> => Effect.promise(() => Core.aesKey(k))

export const encrypt = (
  key: CryptoKey,
  n: bigint,
  ad: Uint8Array,
  plaintext: Uint8Array,
  prefix = 0
): Effect.Effect<Uint8Array> => Effect.promise(() => Core.encrypt(key, n, ad, plaintext, prefix))

export const decrypt = (
  key: CryptoKey,
  n: bigint,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  prefix = 0
): Effect.Effect<Uint8Array, DecryptFailed> =>
  Effect.tryPromise({
    try: () => Core.decrypt(key, n, ad, ciphertext, prefix),
    catch: (e) => (e instanceof DecryptFailed ? e : new DecryptFailed())
  })

export const hash = (data: Uint8Array): Effect.Effect<Uint8Array> => Effect.promise(() => Core.hash(data))

export const hmac = (key: Uint8Array, data: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.promise(() => Core.hmac(key, data))
