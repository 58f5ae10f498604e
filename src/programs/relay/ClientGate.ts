// node:http here: the gate works on the sockets and requests the proxy core streams, before any framework sees them.
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { writeWireError } from "../../layers/JsonResponses.js"
import { RateLimited, RequestTimeout } from "../../protocol/Errors.js"

/**
 * Whether a body follows the head: HTTP/1.1 frames one only with Content-Length or
 * Transfer-Encoding (RFC 9112 §6.3), so a GET without them has nothing left to arrive and needs
 * no body deadline (a timer and two listeners per request, on the dashboard's hottest path).
 */
const hasBody = (req: IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}

export const tooManyConnections = new RateLimited({ message: "Too many connections from this address." })

interface Connection {
  /** Counted against this address until it authenticates; undefined once it has (or when proxied). */
  address: string | undefined
  readonly proxied: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Clients that have shown neither a session nor a key yet. Each client address may hold only
 * `maxPerClient` such connections (requests, behind a trusted proxy) at once; a connection must
 * start its first request within `firstRequestMs`, and an unauthenticated request must have sent
 * its whole body within `bodyMs`. Authenticated traffic (tunnels, dashboards, uploads) is exempt.
 */
export class ClientGate {
  private readonly held = new Map<string, number>()
  private readonly connections = new Map<string, Connection>()
  private readonly deadlines = new WeakMap<IncomingMessage, ReturnType<typeof setTimeout>>()
  private readonly counted = new WeakSet<IncomingMessage>()
  /** Addresses that sent a validly signed replica hop lately, until when (ms). */
  private readonly replicas = new Map<string, number>()

  constructor(
    private readonly maxPerClient: number,
    private readonly firstRequestMs: number,
    private readonly bodyMs: number
  ) {}

  /**
   * A new connection. Connections from a trusted proxy are counted per request instead (the
   * proxy carries many clients); false when the address already holds its share.
   */
  open(socket: Socket, fromProxy: boolean): boolean {
    const address = fromProxy || this.isReplica(socket.remoteAddress) ? undefined : socket.remoteAddress ?? "unknown"
    if (address !== undefined && !this.enter(address)) return false
    const id = `${socket.remoteAddress}:${socket.remotePort}`
    const timer = setTimeout(() => socket.destroy(), this.firstRequestMs)
    this.connections.set(id, { address, proxied: fromProxy, timer })
    socket.once("close", () => {
      const connection = this.connections.get(id)
      if (connection === undefined) return
      clearTimeout(connection.timer)
      this.connections.delete(id)
      if (connection.address !== undefined) this.leave(connection.address)
    })
    return true
  }

  /**
   * A request arrived: the connection's first-request timer stops and the body deadline starts.
   * Behind a proxy, the forwarded client takes a place until the request ends. False: refused (429 sent).
   */
  request(req: IncomingMessage, res: ServerResponse, client: string): boolean {
    const connection = this.started(req.socket)
    if (connection?.proxied === true) {
      if (!this.enter(client)) {
        writeWireError(res, tooManyConnections, { connection: "close" })
        return false
      }
      this.counted.add(req)
      res.once("close", () => this.counted.delete(req) && this.leave(client))
    }
    if (!req.complete && hasBody(req)) this.bodyDeadline(req, res)
    return true
  }

  /** A request or upgrade began on this connection: its first-request timer stops. */
  started(socket: Socket): Connection | undefined {
    const connection = this.connections.get(`${socket.remoteAddress}:${socket.remotePort}`)
    if (connection !== undefined) {
      clearTimeout(connection.timer)
      connection.timer = undefined
    }
    return connection
  }

  /** The request carried a valid session or key: neither it nor its connection counts any more. */
  authenticated(req: IncomingMessage, client: string): void {
    clearTimeout(this.deadlines.get(req))
    if (this.counted.delete(req)) this.leave(client)
    const connection = this.connections.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`)
    if (connection?.address !== undefined) {
      this.leave(connection.address)
      connection.address = undefined
    }
  }

  /**
   * This address proved the cluster secret: another replica, whose pool may open many connections
   * at once to forward a burst. Its new connections skip the per-address share for `forMs` (renewed
   * by each valid hop); the first-request timer still applies. Only signed hops add entries, so the
   * map holds at most the cluster's replicas.
   */
  trustReplica(address: string | undefined, forMs = 10 * 60_000): void {
    if (address !== undefined) this.replicas.set(address, Date.now() + forMs)
  }

  private isReplica(address: string | undefined): boolean {
    if (address === undefined) return false
    const until = this.replicas.get(address)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.replicas.delete(address)
    return false
  }

  private bodyDeadline(req: IncomingMessage, res: ServerResponse): void {
    const timer = setTimeout(() => {
      if (req.complete) return
      if (res.headersSent) return void req.socket.destroy()
      res.once("finish", () => req.socket.destroy())
      writeWireError(res, new RequestTimeout({ message: "The request body did not arrive in time." }), {
        connection: "close"
      })
    }, this.bodyMs)
    this.deadlines.set(req, timer)
    const clear = () => clearTimeout(timer)
    req.once("end", clear)
    req.once("close", clear)
  }

  private enter(address: string): boolean {
    const n = this.held.get(address) ?? 0
    if (n >= this.maxPerClient) return false
    this.held.set(address, n + 1)
    return true
  }

  private leave(address: string): void {
    const n = (this.held.get(address) ?? 1) - 1
    if (n <= 0) this.held.delete(address)
    else this.held.set(address, n)
  }
}
