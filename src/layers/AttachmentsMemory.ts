import { Chunk, Clock, Effect, Layer, Ref, Stream } from "effect"
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
    const store = yield* Ref.make(new Map<string, Entry>())
    const inFlight = yield* Ref.make(0)

    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return yield* Ref.modify(store, (m) => {
        const kept = new Map([...m].filter(([, e]) => e.expiresAt > now))
        return [m.size - kept.size, kept] as const
      })
    })

    const usage = Ref.get(store).pipe(Effect.map((m) => ({
      files: m.size,
      bytes: [...m.values()].reduce((n, e) => n + e.bytes.length, 0)
    })))

    const resolve = Effect.fn("Attachments.resolve")(function*(ids: ReadonlyArray<string>) {
      yield* sweep
      const m = yield* Ref.get(store)
      const refs: Array<AttachmentRef> = []
      for (const id of ids) {
        const entry = m.get(id)
        if (entry === undefined) {
          return yield* new AttachmentNotFound({ message: `attachment ${id} does not exist or has expired` })
        }
        refs.push(entry.ref)
      }
      return refs
    })

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
        yield* Ref.update(store, (m) => new Map(m).set(id, { ref, bytes, expiresAt: now + limits.ttlMillis }))
        return ref
      }).pipe(Effect.withSpan("Attachments.upload"))

    const open = Effect.fn("Attachments.open")(function*(id: string) {
      const [ref] = yield* resolve([id])
      const entry = (yield* Ref.get(store)).get(id)!
      return { ref: ref!, content: Stream.succeed(entry.bytes) }
    })

    const remove = (ids: ReadonlyArray<string>) =>
      Ref.update(store, (m) => new Map([...m].filter(([id]) => !ids.includes(id))))

    return Attachments.of({ resolve, upload, open, remove, sweep, usage })
  })
)
