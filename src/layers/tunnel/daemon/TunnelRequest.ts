import { Headers, type HttpServerError, HttpServerRequest, type Socket } from "@effect/platform"
import type { Effect } from "effect"
import type { RequestHead } from "../../../protocol/TunnelFrame.js"
import { isDroppedHeader } from "../../../protocol/TunnelRoutes.js"

const withUpgrade = (
  base: HttpServerRequest.HttpServerRequest,
  upgrade: Effect.Effect<Socket.Socket, HttpServerError.RequestError>
): HttpServerRequest.HttpServerRequest =>
  Object.create(base, {
    upgrade: { get: () => upgrade },
    modify: { value: (options: Parameters<typeof base.modify>[0]) => withUpgrade(base.modify(options), upgrade) }
  }) as HttpServerRequest.HttpServerRequest

/**
 * A tunnelled request as the daemon's app sees it: forwarded and credential headers dropped
 * (again), a loopback Host, the body streamed from the tunnel, and for a WebSocket an
 * `upgrade` that yields a Socket backed by the tunnel stream.
 */
export const tunnelRequest = (
  head: RequestHead,
  body: () => ReadableStream<Uint8Array>,
  upgrade: Effect.Effect<Socket.Socket, HttpServerError.RequestError> | undefined
): HttpServerRequest.HttpServerRequest => {
  const headers = head.headers.filter(([name]) => !isDroppedHeader(name)).map(([k, v]): [string, string] => [k, v])
  const hasBody = head.method !== "GET" && head.method !== "HEAD"
  const web = new Request(`http://127.0.0.1${head.path}`, {
    method: head.method,
    headers,
    body: hasBody ? body() : null,
    duplex: "half"
  } as RequestInit)
  const base = HttpServerRequest.fromWeb(web).modify({
    // From the web Headers, which join repeated lines ("a, b") instead of keeping the last.
    headers: Headers.set(Headers.fromInput(web.headers), "host", "127.0.0.1"),
    remoteAddress: "relay"
  })
  return upgrade === undefined ? base : withUpgrade(base, upgrade)
}
