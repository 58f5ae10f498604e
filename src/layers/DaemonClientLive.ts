import { HttpApiClient, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, FiberRef, Layer, ParseResult, Redacted } from "effect"
import { DaemonApi } from "../protocol/DaemonApi.js"
import { PEER_TOKEN_HEADER } from "../protocol/Peer.js"
import { daemonUrl } from "../programs/daemon/Launcher.js"
import { Config } from "../services/Config.js"
import { DaemonClient, DaemonFailure, DaemonUnreachable } from "../services/DaemonClient.js"

const currentPeerToken = FiberRef.unsafeMake<string | undefined>(undefined)

export const unreachableMessage = (baseUrl: string, cause: string) =>
  `daemon not reachable at ${baseUrl} (${cause}); start it with \`repowire daemon start\``

const causeText = (e: HttpClientError.RequestError) => {
  const cause = e.cause as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined
  const code = cause?.code ?? cause?.cause?.code
  return code === "ECONNREFUSED" ? "connection refused" : typeof cause?.message === "string" ? cause.message : e.reason
}

export const DaemonClientLive = Layer.effect(
  DaemonClient,
  Effect.gen(function*() {
    const config = yield* Config
    // Read per request: the daemon writes its actual port (port 0 in tests) to its runtime file.
    const currentUrl = () => daemonUrl(config.paths, config.values)
    const authToken = config.authToken
    const api = yield* HttpApiClient.make(DaemonApi, {
      transformClient: HttpClient.mapRequestEffect((request) =>
        FiberRef.get(currentPeerToken).pipe(
          Effect.map((peerToken) => {
            const withAuth = authToken ? HttpClientRequest.bearerToken(request, Redacted.value(authToken)) : request
            const withPeer = peerToken ? HttpClientRequest.setHeader(withAuth, PEER_TOKEN_HEADER, peerToken) : withAuth
            return HttpClientRequest.prependUrl(withPeer, currentUrl())
          })
        )
      )
    })
    return DaemonClient.of({
      get baseUrl() {
        return currentUrl()
      },
      call: (f, options) =>
        Effect.locally(f(api), currentPeerToken, options?.peerToken).pipe(
          Effect.catchIf(
            (e): e is Extract<typeof e, HttpClientError.HttpClientError | ParseResult.ParseError> =>
              HttpClientError.isHttpClientError(e) || ParseResult.isParseError(e),
            (e): Effect.Effect<never, DaemonUnreachable | DaemonFailure> => {
              if (HttpClientError.isHttpClientError(e) && e._tag === "RequestError") {
                return Effect.fail(new DaemonUnreachable({ message: unreachableMessage(currentUrl(), causeText(e)) }))
              }
              if (HttpClientError.isHttpClientError(e) && e._tag === "ResponseError") {
                return Effect.fail(new DaemonFailure({ message: `daemon answered ${e.response.status} to ${e.request.method} ${e.request.url}` }))
              }
              return Effect.fail(new DaemonFailure({ message: `unexpected answer from the daemon: ${String(e.message).split("\n")[0]}` }))
            }
          )
        ) as never
    })
  })
).pipe(Layer.provide(NodeHttpClient.layerUndici))
