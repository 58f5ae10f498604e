import { HttpLayerRouter, HttpServerRequest, HttpServerResponse, Multipart } from "@effect/platform"
import { Data, Effect, Either, Layer, Option, Stream } from "effect"
import type { AttachmentRef } from "../../protocol/Attachment.js"
import type { PayloadTooLarge, QuotaExceeded } from "../../protocol/Errors.js"
import { errorBody } from "../../protocol/Errors.js"
import { limitsOf } from "../../layers/AttachmentLimits.js"
import { Attachments } from "../../services/Attachments.js"
import { attachRefusal } from "./PolicyChecks.js"
import { Config } from "../../services/Config.js"

const MAX_FILES = 16

class TooManyFiles extends Data.TaggedError("TooManyFiles") {}

const fail = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson(errorBody(code, message), { status })

/** Types a browser can only display, never run; everything else is served as opaque bytes. */
const INERT_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "application/pdf"])

/**
 * The content type an attachment is served with. HTML, SVG, XML and scripts must never run in
 * the dashboard's origin: they become text/plain or application/octet-stream.
 */
export const safeContentType = (declared: string): string => {
  const type = declared.split(";")[0]!.trim().toLowerCase()
  if (INERT_TYPES.has(type)) return type
  if (type === "text/plain" || type === "text/markdown" || type === "text/csv" || type === "application/json") {
    return "text/plain; charset=utf-8"
  }
  return "application/octet-stream"
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987). */
export const contentDisposition = (name: string): string => {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_")
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

const upload = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const attachments = yield* Attachments
  const limits = limitsOf(yield* Config)
  const refused = yield* attachRefusal
  if (refused !== undefined) return fail(403, "policy_denied", refused.message)
  const type = request.headers["content-type"] ?? ""
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    return fail(400, "invalid_request", "upload files as multipart/form-data")
  }
  const stored: Array<AttachmentRef> = []
  const outcome = yield* request.multipartStream.pipe(
    Stream.filter(Multipart.isFile),
    Stream.zipWithIndex,
    Stream.runForEach(([file, index]): Effect.Effect<void, TooManyFiles | PayloadTooLarge | QuotaExceeded | Multipart.MultipartError> =>
      index >= MAX_FILES
        ? Effect.fail(new TooManyFiles())
        : Effect.map(
          attachments.upload({ name: file.name, contentType: file.contentType, content: file.content }),
          (ref) => void stored.push(ref)
        )
    ),
    Multipart.withLimits({
      maxParts: Option.some(MAX_FILES * 4),
      maxFileSize: Option.none(),
      maxTotalSize: Option.some(limits.maxBytes * MAX_FILES + 1024 * 1024)
    }),
    Effect.either
  )
  if (Either.isLeft(outcome)) {
    // All or nothing: drop the files this request had already stored.
    yield* attachments.remove(stored.map((r) => r.id))
    return yield* Effect.fail(outcome.left)
  }
  const refs = stored
  if (refs.length === 0) return fail(400, "invalid_request", "the upload has no file part")
  return HttpServerResponse.unsafeJson({ attachments: [...refs] }, { status: 201 })
}).pipe(
  Effect.catchTags({
    TooManyFiles: () => Effect.succeed(fail(400, "invalid_request", `at most ${MAX_FILES} files per upload`)),
    PayloadTooLarge: (e) => Effect.succeed(fail(413, "payload_too_large", e.message)),
    QuotaExceeded: (e) => Effect.succeed(fail(507, "quota_exceeded", e.message)),
    MultipartError: (e) =>
      Effect.succeed(
        e.reason === "FileTooLarge" || e.reason === "BodyTooLarge"
          ? fail(413, "payload_too_large", "the upload is too large")
          : fail(400, "invalid_request", `not a valid multipart upload (${e.reason})`)
      )
  })
)

const download = Effect.gen(function*() {
  const { id } = yield* HttpLayerRouter.params
  const attachments = yield* Attachments
  const opened = yield* attachments.open(id ?? "")
  return HttpServerResponse.stream(opened.content, {
    contentType: safeContentType(opened.ref.content_type),
    contentLength: opened.ref.size,
    headers: {
      "content-disposition": contentDisposition(opened.ref.name),
      "x-content-type-options": "nosniff",
      "content-security-policy": "sandbox; default-src 'none'",
      "cross-origin-resource-policy": "same-origin",
      "cache-control": "private, max-age=3600"
    }
  })
}).pipe(Effect.catchTag("AttachmentNotFound", (e) => Effect.succeed(fail(404, "attachment_not_found", e.message))))

/** POST /attachments (multipart upload) and GET /attachments/:id (download, never rendered). */
export const AttachmentRoutes = Layer.mergeAll(
  HttpLayerRouter.add("POST", "/attachments", upload),
  HttpLayerRouter.add("GET", "/attachments/:id", download)
)
