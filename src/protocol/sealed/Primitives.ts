import { Effect } from "effect"
import { concat, fromBase64Url } from "./Bytes.js"

/**
 * The Noise crypto functions (noiseprotocol.org/noise.html rev 34, §4) for the suite
 * 25519_AESGCM_SHA256, over WebCrypto only: the same code runs in Node 20 and in the browser.
 */

export const DHLEN = 32
export const HASHLEN = 32
const subtle = () => globalThis.crypto.subtle
/** WebCrypto's types want ArrayBuffer-backed views; ours always are. */
const buf = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>

/** A static or ephemeral X25519 key pair. The private half may be non-extractable. */
export interface KeyPair {
  readonly privateKey: CryptoKey
  readonly publicKey: Uint8Array
}

/** A bad peer key (wrong length, small order) or any other failed DH. */
export class DhFailed {
  readonly _tag = "DhFailed"
}
/** AES-GCM refused a ciphertext: it was altered, or the key or nonce is not the sender's. */
export class DecryptFailed {
  readonly _tag = "DecryptFailed"
}

export const generateKeyPair = (extractable = false): Effect.Effect<KeyPair> =>
  Effect.promise(async () => {
    const pair = await subtle().generateKey({ name: "X25519" }, extractable, ["deriveBits"]) as CryptoKeyPair
    return { privateKey: pair.privateKey, publicKey: new Uint8Array(await subtle().exportKey("raw", pair.publicKey)) }
  })

// PKCS#8 PrivateKeyInfo for X25519 (RFC 8410), followed by the 32 private bytes.
const PKCS8_X25519 = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20
)

/**
 * A key pair from a PKCS#8 X25519 private key (fixed keys in tests, the daemon's stored
 * identity). The public half is read from the key's JWK; the kept private key is non-extractable.
 */
export const importPkcs8KeyPair = (pkcs8: Uint8Array): Effect.Effect<KeyPair, DhFailed> =>
  Effect.tryPromise({
    try: async () => {
      const open = await subtle().importKey("pkcs8", buf(pkcs8), { name: "X25519" }, true, ["deriveBits"])
      const jwk = await subtle().exportKey("jwk", open)
      const publicKey = jwk.x === undefined ? undefined : fromBase64Url(jwk.x)
      if (publicKey?.length !== DHLEN) throw new Error("no public key")
      const privateKey = await subtle().importKey("pkcs8", buf(pkcs8), { name: "X25519" }, false, ["deriveBits"])
      return { privateKey, publicKey }
    },
    catch: () => new DhFailed()
  })

/** A key pair from 32 raw private bytes (the test vectors' form). */
export const importRawKeyPair = (raw: Uint8Array) => importPkcs8KeyPair(concat(PKCS8_X25519, raw))

/** DH(key_pair, public_key): X25519; an all-zero result (small-order point) fails. */
export const dh = (pair: KeyPair, publicKey: Uint8Array): Effect.Effect<Uint8Array, DhFailed> =>
  Effect.tryPromise({
    try: async () => {
      if (publicKey.length !== DHLEN) throw new Error("bad length")
      const peer = await subtle().importKey("raw", buf(publicKey), { name: "X25519" }, false, [])
      const shared = new Uint8Array(await subtle().deriveBits({ name: "X25519", public: peer }, pair.privateKey, 256))
      if (shared.every((b) => b === 0)) throw new Error("small order")
      return shared
    },
    catch: () => new DhFailed()
  })

/** The AES-GCM key of a Noise cipher key, imported once per key. */
export const aesKey = (k: Uint8Array): Effect.Effect<CryptoKey> =>
  Effect.promise(() => subtle().importKey("raw", buf(k), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]))

/**
 * The Noise AESGCM nonce: 32 bits of zeros, then the 64-bit counter big-endian. The sealed
 * channel's records put their stream id in those first 32 bits instead (`prefix`).
 */
export const nonceBytes = (n: bigint, prefix = 0): Uint8Array => {
  const iv = new Uint8Array(12)
  const view = new DataView(iv.buffer)
  view.setUint32(0, prefix, false)
  view.setBigUint64(4, n, false)
  return iv
}

export const encrypt = (
  key: CryptoKey,
  n: bigint,
  ad: Uint8Array,
  plaintext: Uint8Array,
  prefix = 0
): Effect.Effect<Uint8Array> =>
  Effect.promise(async () =>
    new Uint8Array(
      await subtle().encrypt(
        { name: "AES-GCM", iv: buf(nonceBytes(n, prefix)), additionalData: buf(ad), tagLength: 128 },
        key,
        buf(plaintext)
      )
    )
  )

/** AES-GCM decryption as a bare promise (undefined when it does not authenticate), for per-record paths. */
export const decryptPromise = (
  key: CryptoKey,
  n: bigint,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  prefix = 0
): Promise<Uint8Array | undefined> =>
  subtle().decrypt(
    { name: "AES-GCM", iv: buf(nonceBytes(n, prefix)), additionalData: buf(ad), tagLength: 128 },
    key,
    buf(ciphertext)
  ).then((plain) => new Uint8Array(plain), () => undefined)

export const decrypt = (
  key: CryptoKey,
  n: bigint,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  prefix = 0
): Effect.Effect<Uint8Array, DecryptFailed> =>
  Effect.flatMap(
    Effect.promise(() => decryptPromise(key, n, ad, ciphertext, prefix)),
    (plain) => plain === undefined ? Effect.fail(new DecryptFailed()) : Effect.succeed(plain)
  )

export const hash = (data: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => new Uint8Array(await subtle().digest("SHA-256", buf(data))))

export const hmac = (key: Uint8Array, data: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => {
    const k = await subtle().importKey("raw", buf(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    return new Uint8Array(await subtle().sign("HMAC", k, buf(data)))
  })

/** HKDF(chaining_key, input_key_material, 3) as Noise §4.3 defines it, over HMAC-SHA256. */
export const hkdf3 = (chainingKey: Uint8Array, ikm: Uint8Array) =>
  Effect.gen(function*() {
    const temp = yield* hmac(chainingKey, ikm)
    const o1 = yield* hmac(temp, Uint8Array.of(1))
    const o2 = yield* hmac(temp, concat(o1, Uint8Array.of(2)))
    const o3 = yield* hmac(temp, concat(o2, Uint8Array.of(3)))
    return [o1, o2, o3] as const
  })

/** An HMAC-SHA256 key imported once, for many MACs under it. */
export const hmacKey = (key: Uint8Array): Promise<CryptoKey> =>
  subtle().importKey("raw", buf(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])

export const hmacWith = (key: CryptoKey, data: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => new Uint8Array(await subtle().sign("HMAC", key, buf(data))))

/** HKDF with two outputs: the first two of the three (Noise computes them the same way). */
export const hkdf2 = (chainingKey: Uint8Array, ikm: Uint8Array) =>
  Effect.gen(function*() {
    const temp = yield* hmac(chainingKey, ikm)
    const o1 = yield* hmac(temp, Uint8Array.of(1))
    const o2 = yield* hmac(temp, concat(o1, Uint8Array.of(2)))
    return [o1, o2] as const
  })
