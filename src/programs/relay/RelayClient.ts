import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Data, Effect, Either, Layer, Schema } from "effect"
import { KeyIssued } from "../../protocol/RelayApi.js"

export class RelayCallError extends Data.TaggedError("RelayCallError")<{ readonly message: string }> {}

/** The relay's HTTPS base for API calls, whatever scheme config.yaml holds. */
export const relayApiBase = (url: string): string => {
  const u = new URL(url)
  u.protocol = u.protocol === "wss:" ? "https:" : u.protocol === "ws:" ? "http:" : u.protocol
  return u.toString().replace(/\/+$/, "")
}

const decodeIssued = Schema.decodeUnknownEither(Schema.parseJson(KeyIssued))

/** A one-shot client: its own agent (trusting `ca` when given), closed with the call. */
const clientWith = (ca: string | Buffer | undefined) =>
  NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer(ca === undefined ? {} : { ca })))

const causeMessage = (error: { readonly cause?: unknown; readonly message: string }) =>
  error.cause instanceof Error ? error.cause.message : error.message

/** POSTs to a relay API route and decodes a KeyIssued answer. */
export const postForKey = (
  url: string,
  options: { readonly bearer?: string; readonly body?: unknown; readonly ca?: string | Buffer | undefined }
) =>
  Effect.gen(function*() {
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyUnsafeJson(options.body ?? {}),
      options.bearer === undefined ? (r) => r : HttpClientRequest.bearerToken(options.bearer)
    )
    const unreachable = (message: string) =>
      new RelayCallError({ message: `cannot reach the relay at ${url}: ${message}` })
    const response = yield* HttpClient.execute(request).pipe(
      Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => unreachable("timed out") }),
      Effect.catchTag("RequestError", (e) => Effect.fail(unreachable(causeMessage(e))))
    )
    const text = yield* response.text.pipe(Effect.catchAll((e) => Effect.fail(unreachable(causeMessage(e)))))
    if (response.status >= 300) {
      const message = /"message":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 200)
      return yield* new RelayCallError({ message: `the relay answered ${response.status}: ${message}` })
    }
    const decoded = decodeIssued(text)
    return Either.isRight(decoded)
      ? decoded.right
      : yield* new RelayCallError({ message: "the relay's answer was not a key" })
  }).pipe(Effect.scoped, Effect.provide(clientWith(options.ca)))
