import { HttpLayerRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest, NodeStream } from "@effect/platform-node"
import { Data, Duration, Effect, Either, Layer } from "effect"
import { IncomingMessage } from "node:http"
import { limitsOf } from "../../layers/AttachmentLimits.js"
import type { AttachmentRef } from "../../protocol/Attachment.js"
import { durationMillis } from "../../protocol/ConfigFile.js"
import { BadRequest, errorResponse, PayloadTooLarge, RequestTimeout } from "../../protocol/Errors.js"
import { Attachments } from "../../services/Attachments.js"
import { Config } from "../../services/Config.js"
import { readFileParts } from "./MultipartReader.js"
import { attachRefusal } from "./PolicyChecks.js"

const MAX_FILES = 16

class TooManyFiles extends Data.TaggedError("TooManyFiles") {}

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

/**
 * An upload refused before its body was read to the end: the connection closes after the
 * answer, so the rest of the body is never waited for.
 */
const refuse = (error: Parameters<typeof errorResponse>[0]) =>
  HttpServerResponse.setHeader(errorResponse(error), "connection", "close")

/**
 * The request's body. Read from node:http, it stays open when the reading stops early (the
 * platform's own stream destroys the request, and the socket with it, before the refusal is sent).
 */
const bodyOf = (request: HttpServerRequest.HttpServerRequest) => {
  // A tunnelled request is a web Request: its stream is cancelled, and nothing else closes.
  const source: unknown = NodeHttpServerRequest.toIncomingMessage(request)
  return source instanceof IncomingMessage
    ? NodeStream.fromReadable<HttpServerError.RequestError, Uint8Array>(
      () => source,
      (cause) => new HttpServerError.RequestError({ request, reason: "Transport", cause }),
      { closeOnDone: false }
    )
    : request.stream
}

const upload = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const attachments = yield* Attachments
  const config = yield* Config
  const limits = limitsOf(config)
  const refused = yield* attachRefusal
  if (refused !== undefined) return errorResponse(refused)
  const stored: Array<AttachmentRef> = []
  const outcome = yield* readFileParts(bodyOf(request), request.headers, {
    maxParts: MAX_FILES * 4,
    maxPartBytes: limits.maxBytes,
    maxFieldBytes: 64 * 1024,
    maxTotalBytes: limits.maxBytes * MAX_FILES + 1024 * 1024,
    idle: Duration.millis(durationMillis(config.values.daemon.request_timeout))
  }, (file, index) =>
    Effect.gen(function*() {
      if (index >= MAX_FILES) return yield* new TooManyFiles()
      stored.push(yield* attachments.upload(file))
    })).pipe(Effect.either)
  if (Either.isLeft(outcome)) {
    // All or nothing: drop the files this request had already stored.
    yield* attachments.remove(stored.map((r) => r.id))
    return yield* Effect.fail(outcome.left)
  }
  if (stored.length === 0) return errorResponse(new BadRequest({ message: "the upload has no file part" }))
  return HttpServerResponse.unsafeJson({ attachments: [...stored] }, { status: 201 })
}).pipe(
  Effect.catchTags({
    TooManyFiles: () => Effect.succeed(refuse(new BadRequest({ message: `at most ${MAX_FILES} files per upload` }))),
    PayloadTooLarge: (e) => Effect.succeed(refuse(e)),
    QuotaExceeded: (e) => Effect.succeed(refuse(e)),
    MultipartTooLarge: (e) => Effect.succeed(refuse(new PayloadTooLarge({ message: e.message }))),
    MultipartInvalid: (e) => Effect.succeed(refuse(new BadRequest({ message: e.message }))),
    MultipartStalled: (e) => Effect.succeed(refuse(new RequestTimeout({ message: e.message })))
  }),
  Effect.withSpan("Attachments.uploadRoute")
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
}).pipe(
  Effect.catchTag("AttachmentNotFound", (e) => Effect.succeed(errorResponse(e))),
  Effect.withSpan("Attachments.downloadRoute")
)

/** POST /attachments (multipart upload) and GET /attachments/:id (download, never rendered). */
export const AttachmentRoutes = Layer.mergeAll(
  HttpLayerRouter.add("POST", "/attachments", upload),
  HttpLayerRouter.add("GET", "/attachments/:id", download)
)
