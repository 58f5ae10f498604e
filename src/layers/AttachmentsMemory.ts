import { Chunk, Clock, Effect, Either, Layer, Ref, Stream } from "effect"
import type { AttachmentRef } from "../protocol/Attachment.js"
import { AttachmentNotFound } from "../protocol/Errors.js"
import { Attachments, type UploadFile } from "../services/Attachments.js"
import { Config } from "../services/Config.js"
import { limitsOf, limitStream, newAttachmentId, safeFileName, storedPath } from "./AttachmentLimits.js"

interface Entry {
  readonly ref: AttachmentRef
  readonly bytes: Uint8Array
  readonly expiresAt: number
}

/** Attachments kept in memory, with the same limits and expiry as the live layer. */
export const AttachmentsMemory = Layer.effect(
  Attachments,
  Effect.gen(function*() {
    const config = yield* Config
    const limits = limitsOf(config)
    // Replaced, never mutated, as a Ref's value would be; plain so that resolveNow can read it.
    let store: ReadonlyMap<string, Entry> = new Map()
    const inFlight = yield* Ref.make(0)

    const sweepNow = (now: number) => {
      const kept = new Map([...store].filter(([, e]) => e.expiresAt > now))
      const removed = store.size - kept.size
      store = kept
      return removed
    }
    const sweep = Effect.map(Clock.currentTimeMillis, sweepNow)

    const usage = Effect.sync(() => ({
      files: store.size,
      bytes: [...store.values()].reduce((n, e) => n + e.bytes.length, 0)
    }))

    const resolveNow = (ids: ReadonlyArray<string>, now: number) => {
      sweepNow(now)
      const refs: Array<AttachmentRef> = []
      for (const id of ids) {
        const entry = store.get(id)
        if (entry === undefined) {
          return Either.left(new AttachmentNotFound({ message: `attachment ${id} does not exist or has expired` }))
        }
        refs.push(entry.ref)
      }
      return Either.right(refs)
    }
    const resolve = (ids: ReadonlyArray<string>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => resolveNow(ids, now))

    const upload = <E>(file: UploadFile<E>) =>
      Effect.gen(function*() {
        yield* sweep
        const limited = limitStream(file.content, limits, Effect.map(usage, (u) => u.bytes), inFlight)
        const chunks = yield* Stream.runCollect(limited)
        const bytes = new Uint8Array(Chunk.reduce(chunks, 0, (n, c) => n + c.length))
        let offset = 0
        for (const chunk of chunks) {
          bytes.set(chunk, offset)
          offset += chunk.length
        }
        const id = newAttachmentId()
        const name = safeFileName(file.name)
        const ref: AttachmentRef = {
          id,
          name,
          size: bytes.length,
          content_type: file.contentType === "" ? "application/octet-stream" : file.contentType.slice(0, 255),
          path: storedPath(config.paths.attachmentsDir, id, name)
        }
        const now = yield* Clock.currentTimeMillis
        store = new Map(store).set(id, { ref, bytes, expiresAt: now + limits.ttlMillis })
        return ref
      }).pipe(Effect.withSpan("Attachments.upload"))

    const open = Effect.fn("Attachments.open")(function*(id: string) {
      const [ref] = yield* resolve([id])
      const entry = store.get(id)!
      return { ref: ref!, content: Stream.succeed(entry.bytes) }
    })

    const remove = (ids: ReadonlyArray<string>) =>
      Effect.sync(() => {
        store = new Map([...store].filter(([id]) => !ids.includes(id)))
      })

    return Attachments.of({ resolve, resolveNow, upload, open, remove, sweep, usage })
  })
)
