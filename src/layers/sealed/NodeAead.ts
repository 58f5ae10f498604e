import * as crypto from "node:crypto"
import type { SyncAead } from "../../protocol/sealed/SyncRecords.js"

const TAG = 16
const aeads = new WeakMap<CryptoKey, SyncAead>()

/**
 * AES-256-GCM through node:crypto, synchronous: on the daemon a record costs a few
 * microseconds this way, against a WebCrypto job (a thread-pool round trip and a promise) per
 * record. The key stays the session's non-extractable CryptoKey, handed to node:crypto as a
 * KeyObject; one per key.
 */
export const nodeAead = (key: CryptoKey): SyncAead => {
  const known = aeads.get(key)
  if (known !== undefined) return known
  const secret = crypto.KeyObject.from(key)
  const aead: SyncAead = {
    seal: (nonce, ad, parts) => {
      const cipher = crypto.createCipheriv("aes-256-gcm", secret, nonce, { authTagLength: TAG })
      cipher.setAAD(ad)
      const out: Array<Uint8Array> = []
      for (const part of parts) if (part.length > 0) out.push(cipher.update(part))
      // AES-GCM's final() emits nothing (a stream cipher); only the tag follows.
      cipher.final()
      out.push(cipher.getAuthTag())
      return out
    },
    open: (nonce, ad, ciphertext) => {
      if (ciphertext.length < TAG) return undefined
      const decipher = crypto.createDecipheriv("aes-256-gcm", secret, nonce, { authTagLength: TAG })
      decipher.setAAD(ad)
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG))
      const data = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG))
      try {
        decipher.final()
      } catch {
        return undefined
      }
      return data
    }
  }
  aeads.set(key, aead)
  return aead
}
