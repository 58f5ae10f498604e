import { HttpServerRequest } from "@effect/platform"
import { Effect, Option, Stream } from "effect"

export type SmallBody =
  | { readonly _tag: "Read"; readonly text: string }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Aborted" }

/**
 * Reads a small request body. Past `limit` bytes it stops reading: the rest is never taken in,
 * and the request's scope, which closes once the answer (a 413) is written, ends the connection.
 */
export const readSmallBody = (limit: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // Pulled in the request's scope: stopping early must not close the connection before the answer.
    const pull = yield* Stream.toPull(request.stream)
    const chunks: Array<Uint8Array> = []
    let size = 0
    for (;;) {
      const next = yield* Effect.either(pull)
      if (next._tag === "Left") {
        return Option.isNone(next.left) ? read(chunks) : aborted
      }
      for (const chunk of next.right) {
        size += chunk.byteLength
        if (size > limit) return tooLarge
        chunks.push(chunk)
      }
    }
  })

const read = (chunks: ReadonlyArray<Uint8Array>): SmallBody => ({
  _tag: "Read",
  text: Buffer.concat(chunks).toString("utf8")
})
const tooLarge: SmallBody = { _tag: "TooLarge" }
const aborted: SmallBody = { _tag: "Aborted" }

/** A form field, trimmed; undefined when absent. */
export const formField = (body: string, name: string): string | undefined => {
  const value = new URLSearchParams(body).get(name)
  return value === null ? undefined : value.trim()
}
