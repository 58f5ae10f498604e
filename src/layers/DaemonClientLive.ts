import { HttpApiClient, HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, FiberRef, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DaemonApi, RelayReconnected } from "../protocol/DaemonApi.js"
import { daemonUrl } from "../protocol/HomeFiles.js"
import { HUMAN_CREDENTIAL_HEADER, PEER_TOKEN_HEADER } from "../protocol/Peer.js"
import { unreachableCause, unreachableMessage } from "../protocol/Unreachable.js"
import { Config } from "../services/Config.js"
import { DaemonClient, DaemonFailure, DaemonUnreachable } from "../services/DaemonClient.js"

/** The headers of the calling peer (and of a human registering) for the requests of one call. */
const callerHeaders = FiberRef.unsafeMake<Readonly<Record<string, string>>>({})

const headersOf = (
  options: { readonly peerToken?: string | undefined; readonly humanCredential?: string | undefined } | undefined
) => ({
  ...(options?.peerToken ? { [PEER_TOKEN_HEADER]: options.peerToken } : {}),
  ...(options?.humanCredential ? { [HUMAN_CREDENTIAL_HEADER]: options.humanCredential } : {})
})

const causeText = (e: HttpClientError.RequestError) => {
  const cause = e.cause as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined
  const code = cause?.code ?? cause?.cause?.code
  return unreachableCause(code, typeof cause?.message === "string" ? cause.message : e.reason)
}

const REGISTER_TIMEOUT = Duration.millis(1500)
const RECONNECT_TIMEOUT = Duration.seconds(5)

const Uploaded = Schema.Struct({ attachments: Schema.Array(Schema.Struct({ id: Schema.String })) })
const ErrorBody = Schema.Struct({ error: Schema.Struct({ message: Schema.String }) })

export const DaemonClientLive = Layer.effect(
  DaemonClient,
  Effect.gen(function*() {
    const config = yield* Config
    // Read per request: the daemon writes its actual port (port 0 in tests) to its runtime file.
    const currentUrl = () => daemonUrl(config.paths, config.values)
    const authToken = config.authToken
    const http = yield* HttpClient.HttpClient
    const api = yield* HttpApiClient.make(DaemonApi, {
      transformClient: HttpClient.mapRequestEffect((request) =>
        FiberRef.get(callerHeaders).pipe(
          Effect.map((headers) => {
            const withAuth = authToken ? HttpClientRequest.bearerToken(request, Redacted.value(authToken)) : request
            return HttpClientRequest.prependUrl(HttpClientRequest.setHeaders(withAuth, headers), currentUrl())
          })
        )
      )
    })
    const call: DaemonClient["Type"]["call"] = (f, options) =>
      Effect.locally(f(api), callerHeaders, headersOf(options)).pipe(
        Effect.catchIf(
          (e): e is Extract<typeof e, HttpClientError.HttpClientError | ParseResult.ParseError> =>
            HttpClientError.isHttpClientError(e) || ParseResult.isParseError(e),
          (e): Effect.Effect<never, DaemonUnreachable | DaemonFailure> => {
            if (HttpClientError.isHttpClientError(e) && e._tag === "RequestError") {
              return Effect.fail(new DaemonUnreachable({ message: unreachableMessage(currentUrl(), causeText(e)) }))
            }
            if (HttpClientError.isHttpClientError(e) && e._tag === "ResponseError") {
              return Effect.fail(
                new DaemonFailure({
                  message: `daemon answered ${e.response.status} to ${e.request.method} ${e.request.url}`
                })
              )
            }
            return Effect.fail(
              new DaemonFailure({ message: `unexpected answer from the daemon: ${String(e.message).split("\n")[0]}` })
            )
          }
        )
      ) as never
    const unreachable = (reason: string) => new DaemonUnreachable({ message: unreachableMessage(currentUrl(), reason) })
    const reconnectRelay = Effect.gen(function*() {
      const request = HttpClientRequest.post(`${currentUrl()}/relay/reconnect`)
      const response = yield* http.execute(
        authToken ? HttpClientRequest.bearerToken(request, Redacted.value(authToken)) : request
      ).pipe(
        Effect.timeoutFail({
          duration: RECONNECT_TIMEOUT,
          onTimeout: () => unreachable(`no answer within ${Duration.toMillis(RECONNECT_TIMEOUT)}ms`)
        }),
        Effect.catchTags({
          RequestError: (e) => Effect.fail(unreachable(causeText(e))),
          ResponseError: (e) => Effect.fail(new DaemonFailure({ message: e.message }))
        })
      )
      if (response.status >= 300) {
        return yield* new DaemonFailure({ message: `daemon answered ${response.status} to POST /relay/reconnect` })
      }
      const body = yield* HttpClientResponse.schemaBodyJson(RelayReconnected)(response).pipe(
        Effect.mapError(() => new DaemonFailure({ message: "unexpected answer to POST /relay/reconnect" }))
      )
      return body.relay
    }).pipe(Effect.scoped)
    return DaemonClient.of({
      reconnectRelay,
      get baseUrl() {
        return currentUrl()
      },
      call,
      // A session registers on its first command or tool call: a daemon that hangs is one that
      // is not there (the MCP server then starts one), as for the hook's client.
      register: (request, options) =>
        call((api) => api.peers.register({ payload: request }), options).pipe(
          Effect.timeoutFail({
            duration: REGISTER_TIMEOUT,
            onTimeout: () =>
              new DaemonUnreachable({
                message: unreachableMessage(currentUrl(), `no answer within ${Duration.toMillis(REGISTER_TIMEOUT)}ms`)
              })
          })
        ),
      upload: (files, options) =>
        Effect.tryPromise({
          try: async () => {
            const form = new FormData()
            for (const file of files) form.append("file", new Blob([await fs.readFile(file)]), path.basename(file))
            const headers: Record<string, string> = headersOf(options)
            if (authToken) headers.authorization = `Bearer ${Redacted.value(authToken)}`
            return { response: await fetch(`${currentUrl()}/attachments`, { method: "POST", body: form, headers }) }
          },
          catch: (e) =>
            (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "EISDIR"
              ? new DaemonFailure({
                message: `cannot attach ${(e as NodeJS.ErrnoException).path}: not a readable file`
              })
              : new DaemonUnreachable({
                message: unreachableMessage(currentUrl(), e instanceof Error ? e.message : String(e))
              })
        }).pipe(
          Effect.flatMap(({ response }) =>
            Effect.tryPromise({ try: () => response.json() as Promise<unknown>, catch: () => null }).pipe(
              Effect.orElseSucceed(() => null as unknown),
              Effect.flatMap((body) =>
                response.ok
                  ? Schema.decodeUnknown(Uploaded)(body).pipe(
                    Effect.map((b) => b.attachments.map((a) => a.id)),
                    Effect.mapError(() => new DaemonFailure({ message: "unexpected answer to POST /attachments" }))
                  )
                  : Effect.fail(
                    new DaemonFailure({
                      message: Schema.decodeUnknownOption(ErrorBody)(body).pipe(
                        Option.match({
                          onNone: () => `daemon answered ${response.status} to POST /attachments`,
                          onSome: (b) => b.error.message
                        })
                      )
                    })
                  )
              )
            )
          )
        )
    })
  })
).pipe(Layer.provide(NodeHttpClient.layerUndici))
