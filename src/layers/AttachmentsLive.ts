import { NodeStream } from "@effect/platform-node"
import { Clock, Effect, Either, Layer, Option, Ref, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import type { AttachmentRef } from "../protocol/Attachment.js"
import { AttachmentNotFound } from "../protocol/Errors.js"
import { Attachments, type UploadFile } from "../services/Attachments.js"
import { Config } from "../services/Config.js"
import { Database } from "../services/Database.js"
import { limitsOf, limitStream, newAttachmentId, safeFileName } from "./AttachmentLimits.js"

const Row = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  size: Schema.Number,
  content_type: Schema.String,
  path: Schema.String,
  created_at: Schema.Number,
  expires_at: Schema.Number
})
type Row = typeof Row.Type

const Usage = Schema.Struct({ files: Schema.Number, bytes: Schema.Number })

const toRef = (row: Row): AttachmentRef => ({
  id: row.id,
  name: row.name,
  size: row.size,
  content_type: row.content_type,
  path: row.path
})

/** Sweeps run at most this often, piggybacking on requests (no background timer). */
const SWEEP_EVERY_MS = 60_000

/** Files under `paths.attachmentsDir/<id>/<name>`, metadata in the daemon's SQLite. */
export const AttachmentsLive = Layer.scoped(
  Attachments,
  Effect.gen(function*() {
    const db = yield* Database
    const config = yield* Config
    const limits = limitsOf(config)
    const dir = config.paths.attachmentsDir
    yield* Effect.promise(() => fsp.mkdir(dir, { recursive: true, mode: 0o700 }))
    // An upload cut short by the daemon's end (a stop, a crash) left a folder and no row.
    const rows = yield* db.all(Schema.Struct({ id: Schema.String }), "SELECT id FROM attachments")
    const known = new Set(rows.map((r) => r.id))
    const folders = yield* Effect.promise(() => fsp.readdir(dir))
    const orphans = folders.filter((id) => /^att-[a-z0-9]+$/.test(id) && !known.has(id))
    yield* Effect.forEach(
      orphans,
      (id) => Effect.promise(() => fsp.rm(path.join(dir, id), { recursive: true, force: true })),
      {
        discard: true
      }
    )

    const inFlight = yield* Ref.make(0)
    const lastSweep = yield* Ref.make(0)

    const findLiveNow = (ids: ReadonlyArray<string>, now: number) =>
      db.now.all(Row, "SELECT * FROM attachments WHERE id IN (SELECT value FROM json_each(?)) AND expires_at > ?", [
        JSON.stringify(ids),
        now
      ])
    const findExpired = (now: number) => db.all(Row, "SELECT * FROM attachments WHERE expires_at <= ?", [now])
    const deleteRows = (ids: ReadonlyArray<string>) =>
      db.run("DELETE FROM attachments WHERE id IN (SELECT value FROM json_each(?))", [JSON.stringify(ids)])

    const removeDir = (id: string) => Effect.promise(() => fsp.rm(path.join(dir, id), { recursive: true, force: true }))
    // Uploads still being written when the daemon stops: their request fibers may never finish.
    const writing = new Set<string>()
    yield* Effect.addFinalizer(() => Effect.forEach([...writing], removeDir, { discard: true }))

    const usage = db.one(Usage, "SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM attachments").pipe(
      Effect.map(Option.getOrElse(() => ({ files: 0, bytes: 0 })))
    )

    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.set(lastSweep, now)
      const expired = yield* findExpired(now)
      if (expired.length === 0) return 0
      yield* Effect.forEach(expired, (row) => removeDir(row.id), { concurrency: 4, discard: true })
      yield* deleteRows(expired.map((r) => r.id))
      yield* Effect.logDebug(`removed ${expired.length} expired attachments`)
      return expired.length
    }).pipe(Effect.withSpan("Attachments.sweep"))

    const maybeSweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (now - (yield* Ref.get(lastSweep)) >= SWEEP_EVERY_MS) yield* sweep
    })

    const resolveNow = (ids: ReadonlyArray<string>, now: number) => {
      if (ids.length === 0) return Either.right([])
      const byId = new Map(findLiveNow(ids, now).map((r) => [r.id, r]))
      const missing = ids.find((id) => !byId.has(id))
      return missing === undefined
        ? Either.right(ids.map((id) => toRef(byId.get(id)!)))
        : Either.left(new AttachmentNotFound({ message: `attachment ${missing} does not exist or has expired` }))
    }
    const resolve = (ids: ReadonlyArray<string>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => resolveNow(ids, now))

    const upload = <E>(file: UploadFile<E>) =>
      Effect.gen(function*() {
        yield* maybeSweep
        const id = newAttachmentId()
        const name = safeFileName(file.name)
        const target = path.join(dir, id, name)
        yield* Effect.promise(() => fsp.mkdir(path.join(dir, id), { mode: 0o700 }))
        writing.add(id)
        const limited = limitStream(file.content, limits, Effect.map(usage, (u) => u.bytes), inFlight)
        const size = yield* Effect.acquireUseRelease(
          Effect.promise(() => fsp.open(target, "wx", 0o600)),
          (handle) =>
            Stream.runFoldEffect(limited, 0, (n, chunk) =>
              Effect.promise(() =>
                handle.write(chunk)
              ).pipe(Effect.as(n + chunk.length))),
          (handle) => Effect.promise(() => handle.close())
        ).pipe(Effect.onError(() => removeDir(id)), Effect.ensuring(Effect.sync(() => writing.delete(id))))
        const now = yield* Clock.currentTimeMillis
        const row: Row = {
          id,
          name,
          size,
          content_type: file.contentType === "" ? "application/octet-stream" : file.contentType.slice(0, 255),
          path: target,
          created_at: now,
          expires_at: now + limits.ttlMillis
        }
        yield* db.run(
          "INSERT INTO attachments (id, name, size, content_type, path, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [row.id, row.name, row.size, row.content_type, row.path, row.created_at, row.expires_at]
        )
        return toRef(row)
      }).pipe(Effect.withSpan("Attachments.upload"))

    const open = Effect.fn("Attachments.open")(function*(id: string) {
      yield* maybeSweep
      const [ref] = yield* resolve([id])
      const exists = yield* Effect.promise(() => fsp.access(ref!.path).then(() => true, () => false))
      if (!exists) return yield* new AttachmentNotFound({ message: `attachment ${id} is gone` })
      const content = NodeStream.fromReadable<Error, Uint8Array>(
        () => fs.createReadStream(ref!.path),
        (e) => e as Error
      )
        .pipe(Stream.orDie)
      return { ref: ref!, content }
    })

    const remove = (ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (ids.length === 0) return
        yield* Effect.forEach(ids, removeDir, { discard: true })
        yield* deleteRows(ids)
      }).pipe(Effect.withSpan("Attachments.remove"))

    return Attachments.of({ resolve, resolveNow, upload, open, remove, sweep, usage })
  })
)
