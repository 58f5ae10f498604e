import { HttpServerRequest } from "@effect/platform"
import { Effect, Stream } from "effect"

/** Past this multiple of the limit an oversized body is cut off instead of drained. */
const DRAIN_FACTOR = 16

/**
 * Reads a body that came without Content-Length, up to `limit` bytes. An oversized body is
 * drained (up to a bound) rather than reset, so the client still reads the 413 that follows.
 * Returns the request re-made around the bytes it read, or undefined when it was too large.
 */
export const readBoundedBody = (request: HttpServerRequest.HttpServerRequest, limit: number, host: string) =>
  Effect.gen(function*() {
    let size = 0
    const chunks: Array<Uint8Array> = []
    yield* request.stream.pipe(
      Stream.takeWhile(() => size <= limit * DRAIN_FACTOR),
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          size += chunk.byteLength
          if (size <= limit) chunks.push(chunk)
        })
      ),
      Effect.catchAll(() => Effect.sync(() => (size = Number.POSITIVE_INFINITY)))
    )
    if (size > limit) return undefined
    const headers = new Headers()
    for (const [name, value] of Object.entries(request.headers)) {
      if (name !== "transfer-encoding") headers.set(name, value)
    }
    return HttpServerRequest.fromWeb(
      new Request(new URL(request.url, `http://${host}`), {
        method: request.method,
        headers,
        body: Buffer.concat(chunks)
      })
    )
  })
