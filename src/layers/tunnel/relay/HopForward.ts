// node:http here: a browser's request or WebSocket is piped to the replica holding its tunnel, bytes as they come.
import * as http from "node:http"
import * as https from "node:https"
import type { Duplex } from "node:stream"
import { BadGateway } from "../../../protocol/Errors.js"
import { HOP_BY_HOP_AND_CREDENTIALS } from "../../../protocol/TunnelRoutes.js"
import { writeWireError } from "../../JsonResponses.js"
import { HOP_HEADER, HOP_PREFIX } from "./HopAuth.js"
import { rawError } from "./TunnelStreams.js"

/**
 * One pool of kept-alive connections per holder. An idle one is dropped after 4 s, before the
 * holder's server drops it at 5 s (Node's keepAliveTimeout): a request never races that close.
 */
const pooled = { keepAlive: true, noDelay: true, timeout: 4_000, scheduling: "lifo" } as const
const agents = { http: new http.Agent(pooled), https: new https.Agent(pooled) }

/** Hop-by-hop headers, and the browser's credentials, which the holder does not need. */
const notForwarded = new Set([...HOP_BY_HOP_AND_CREDENTIALS, HOP_HEADER])

/** The raw `[name, value, name, value, …]` headers `keep` accepts, as node:http takes them back. */
const headersOf = (raw: ReadonlyArray<string>, keep: (name: string) => boolean): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (keep(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!)
  }
  return out
}

const forwarded = (name: string) => !notForwarded.has(name)

const lines = (flat: ReadonlyArray<string>) => {
  let text = ""
  for (let i = 0; i + 1 < flat.length; i += 2) text += `${flat[i]}: ${flat[i + 1]}\r\n`
  return text
}

const unreachable = new BadGateway({ message: "The relay replica holding your daemon's tunnel did not answer." })

// Raw header lists (node:http takes the same flat form it gives), so nothing is regrouped on the way.
const open = (
  internalUrl: string,
  path: string,
  options: Omit<http.RequestOptions, "headers"> & { readonly headers: Array<string> }
) => {
  const target = new URL(`${internalUrl.replace(/\/+$/, "")}${HOP_PREFIX}${path}`)
  const secure = target.protocol === "https:"
  const agent = options.agent ?? (secure ? agents.https : agents.http)
  // Given a list, node:http adds no Host of its own (the browser's was dropped with the hop-by-hop ones).
  options.headers.push("host", target.host)
  return (secure ? https : http).request(target, { ...options, agent, headers: options.headers as never })
}

/** Where a hop goes, and what to do when the holder did not serve it (unreachable, or answered 502). */
export interface HopDestination {
  readonly internalUrl: string
  readonly hop: string
  readonly onMiss: () => void
}

/** A browser request streamed to the holder and its answer streamed back, under the pipes' backpressure. */
export const forwardHttp = (
  { hop, internalUrl, onMiss }: HopDestination,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string
): void => {
  const headers = headersOf(req.rawHeaders, forwarded)
  headers.push(HOP_HEADER, hop)
  const upstream = open(internalUrl, path, { method: req.method ?? "GET", headers })
  upstream.on("response", (answer) => {
    if (answer.statusCode === 502) onMiss()
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headersOf(answer.rawHeaders, forwarded))
    // The head leaves with the first body bytes when they are already here (most answers), else
    // on its own right after, so an SSE stream's head never waits for its first event.
    setImmediate(() => {
      if (!res.writableEnded && !res.destroyed) res.flushHeaders()
    })
    answer.pipe(res)
    answer.on("error", () => res.destroy())
    answer.on("aborted", () => res.destroy())
  })
  upstream.on("error", () => {
    onMiss()
    if (res.headersSent) res.destroy()
    else writeWireError(res, unreachable)
  })
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy()
  })
  req.pipe(upstream)
}

/** A browser WebSocket upgrade handed to the holder; once it switches protocols, the two sockets are piped. */
export const forwardUpgrade = (
  { hop, internalUrl, onMiss }: HopDestination,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string
): void => {
  const headers = headersOf(req.rawHeaders, forwarded)
  headers.push("connection", "Upgrade", "upgrade", "websocket", HOP_HEADER, hop)
  const upstream = open(internalUrl, path, { method: "GET", headers, agent: false })
  const statusLine = (answer: http.IncomingMessage, keep: (name: string) => boolean, extra = "") =>
    `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n${lines(headersOf(answer.rawHeaders, keep))}${extra}\r\n`
  upstream.on("upgrade", (answer, peer, peerHead) => {
    socket.write(statusLine(answer, () => true))
    if (peerHead.length > 0) socket.write(peerHead)
    if (head.length > 0) peer.write(head)
    peer.on("error", () => socket.destroy())
    socket.on("error", () => peer.destroy())
    peer.on("close", () => socket.destroy())
    socket.on("close", () => peer.destroy())
    peer.pipe(socket)
    socket.pipe(peer)
  })
  upstream.on("response", (answer) => {
    // Refused by the holder: its answer, then the browser's connection closes.
    if (answer.statusCode === 502) onMiss()
    socket.write(statusLine(answer, (n) => !notForwarded.has(n), "connection: close\r\n"))
    answer.pipe(socket)
  })
  upstream.on("error", () => {
    onMiss()
    rawError(socket, unreachable)
  })
  socket.on("close", () => upstream.destroy())
  upstream.end()
}
