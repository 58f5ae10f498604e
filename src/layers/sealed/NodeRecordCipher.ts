import { Effect } from "effect"
import * as crypto from "node:crypto"
import { DecryptFailed, nonceBytes } from "../../protocol/sealed/Primitives.js"
import type { RecordCipher } from "../../protocol/sealed/Records.js"
import { TAG } from "../../protocol/sealed/Records.js"

/**
 * The records' AES-256-GCM through node:crypto, synchronously: the same bytes as WebCrypto's,
 * without a thread-pool job and a promise per record. A daemon seals and opens every mesh
 * record on its own thread, in order, with no chain of promises to keep them so.
 */
export const nodeRecordCipher = (key: Uint8Array): RecordCipher => {
  const secret = crypto.createSecretKey(key)
  return {
    encrypt: (n, ad, plaintext, prefix) =>
      Effect.sync(() => {
        const cipher = crypto.createCipheriv("aes-256-gcm", secret, nonceBytes(n, prefix), { authTagLength: TAG })
        cipher.setAAD(ad)
        const head = cipher.update(plaintext)
        const tail = cipher.final()
        const out = new Uint8Array(head.length + tail.length + TAG)
        out.set(head, 0)
        out.set(tail, head.length)
        out.set(cipher.getAuthTag(), head.length + tail.length)
        return out
      }),
    decrypt: (n, ad, ciphertext, prefix) =>
      Effect.try({
        try: () => {
          if (ciphertext.length < TAG) throw new Error("shorter than its tag")
          const body = ciphertext.subarray(0, ciphertext.length - TAG)
          const decipher = crypto.createDecipheriv("aes-256-gcm", secret, nonceBytes(n, prefix), { authTagLength: TAG })
          decipher.setAAD(ad)
          decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG))
          const head = decipher.update(body)
          const tail = decipher.final()
          return tail.length === 0 ? head : Buffer.concat([head, tail])
        },
        catch: () => new DecryptFailed()
      })
  }
}
