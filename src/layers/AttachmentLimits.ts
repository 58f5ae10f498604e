import { type Context, Effect, Ref, Stream } from "effect"
import * as crypto from "node:crypto"
import * as path from "node:path"
import { durationMillis } from "../protocol/ConfigFile.js"
import { PayloadTooLarge, QuotaExceeded } from "../protocol/Errors.js"
import type { Config } from "../services/Config.js"

/** The attachment limits of the daemon's config. */
export interface AttachmentLimits {
  readonly maxBytes: number
  readonly quotaBytes: number
  readonly ttlMillis: number
}

export const limitsOf = (config: Context.Tag.Service<typeof Config>): AttachmentLimits => ({
  maxBytes: config.values.daemon.attachments.max_bytes,
  quotaBytes: config.values.daemon.attachments.quota_bytes,
  ttlMillis: durationMillis(config.values.daemon.attachments.ttl)
})

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

export const newAttachmentId = (): string => {
  const bytes = crypto.randomBytes(20)
  let id = "att-"
  for (const b of bytes) id += alphabet[b % alphabet.length]
  return id
}

/** File systems take 255 bytes per name; a multi-byte name is cut by bytes, never mid-character. */
const MAX_NAME_CHARS = 128
const MAX_NAME_BYTES = 200

const cut = (name: string): string => {
  let out = ""
  let bytes = 0
  for (const char of Array.from(name).slice(0, MAX_NAME_CHARS)) {
    bytes += Buffer.byteLength(char)
    if (bytes > MAX_NAME_BYTES) break
    out += char
  }
  return out
}

/** A file name that is safe as the last part of a path on any OS: no separators, no dot-only names. */
export const safeFileName = (name: string): string => {
  const base = name.split(/[\\/]/).pop() ?? ""
  const cleaned = cut(base.normalize("NFC").replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").trim()).trim()
  return cleaned === "" || /^\.+$/.test(cleaned) ? "file" : cleaned
}

export const storedPath = (dir: string, id: string, name: string) => path.join(dir, id, safeFileName(name))

/**
 * Counts bytes as they pass and fails as soon as the file is larger than the per-file limit
 * or the quota (bytes already stored plus those reserved by uploads in flight) is reached.
 */
export const limitStream = <E>(
  content: Stream.Stream<Uint8Array, E>,
  limits: AttachmentLimits,
  used: Effect.Effect<number>,
  inFlight: Ref.Ref<number>
): Stream.Stream<Uint8Array, E | PayloadTooLarge | QuotaExceeded> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const stored = yield* used
    const written = yield* Ref.make(0)
    yield* Effect.addFinalizer(() => Ref.get(written).pipe(Effect.flatMap((n) => Ref.update(inFlight, (f) => f - n))))
    return content.pipe(Stream.mapEffect((chunk) =>
      Effect.gen(function*() {
        const total = yield* Ref.updateAndGet(written, (n) => n + chunk.length)
        yield* Ref.update(inFlight, (f) => f + chunk.length)
        if (total > limits.maxBytes) {
          return yield* new PayloadTooLarge({ message: `a file is at most ${limits.maxBytes} bytes` })
        }
        const others = (yield* Ref.get(inFlight)) - total
        if (stored + others + total > limits.quotaBytes) {
          return yield* new QuotaExceeded({
            message: `attachment storage is full (quota ${limits.quotaBytes} bytes); wait for old files to expire`
          })
        }
        return chunk
      })
    ))
  }))
