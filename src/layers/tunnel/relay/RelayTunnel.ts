import { Either } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocket, type WebSocketServer } from "ws"
import { type AnyWireError, BadGateway, GatewayTimeout, Unavailable } from "../../../protocol/Errors.js"
import { TunnelClose } from "../../../protocol/TunnelClose.js"
import { decodeFrame, Frames, type ResetCode, type TunnelFrame } from "../../../protocol/TunnelFrame.js"
import { tunnelHeaders } from "../../../protocol/TunnelRoutes.js"
import type { TunnelInfo } from "../../../services/RelayRouter.js"
import { writeWireError } from "../../JsonResponses.js"
import { browserSockets } from "./BrowserSockets.js"
import { pumpUpload } from "./BrowserUploads.js"
import { daemonAnswers } from "./DaemonAnswers.js"
import { headDeadlineMs } from "./HeadDeadline.js"
import type { ProxyLink } from "./ProxyLink.js"
import { TunnelBudget } from "./TunnelBudget.js"
import { TunnelOutbound } from "./TunnelOutbound.js"
import { newHttpStream, newUpgradeStream, rawError, type Stream, type StreamHost } from "./TunnelStreams.js"

/** Concurrent browser requests one daemon's tunnel carries; beyond it the browser gets 503. */
const MAX_STREAMS = 512
const tooManyStreams = new Unavailable({ message: "Too many requests in flight to this daemon." })

export interface TunnelLimits {
  /** How long a browser waits for the daemon's response head before it gets 504. */
  readonly responseTimeoutMs: number
  /** Bytes the tunnel may hold for browsers that have not taken them; past it the fullest stream is reset. */
  readonly bufferBytes: number
}

/**
 * The relay's end of one daemon's tunnel: multiplexes browser requests and WebSockets onto
 * the daemon's WebSocket as streams, with per-stream credit in both directions.
 */
export class RelayTunnel implements ProxyLink {
  private readonly streams = new Map<number, Stream>()
  private nextId = 1
  private draining = false
  private closed = false
  lastSeen = Date.now()
  readonly connectedAt = new Date().toISOString()
  private readonly out: TunnelOutbound
  private readonly budget = new TunnelBudget()
  private readonly sockets: ReturnType<typeof browserSockets>
  private readonly answers: ReturnType<typeof daemonAnswers>

  constructor(
    readonly info: TunnelInfo,
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    wss: WebSocketServer,
    private readonly limits: TunnelLimits,
    private readonly onClosed: (tunnel: RelayTunnel) => void
  ) {
    this.out = new TunnelOutbound(
      ws,
      socket,
      () => this.closed,
      () => this.teardown("flow_control: the daemon stopped reading its tunnel")
    )
    const host: StreamHost = {
      out: this.out,
      budget: this.budget,
      overBudget: (stream) => this.overBudget(stream),
      overrun: (stream, message) => this.overrun(stream, message),
      resetFromRelay: (id, code, message) => this.resetFromRelay(id, code, message),
      forget: (stream) => this.forget(stream)
    }
    this.sockets = browserSockets(host, wss)
    this.answers = daemonAnswers(host, this.sockets.onUpgradeResponse)
    ws.on("message", (data: Buffer, isBinary) => {
      this.lastSeen = Date.now()
      if (!isBinary) return
      try {
        this.receive(data)
      } catch {
        // A frame the relay failed to handle costs this tunnel, never the relay process.
        this.close(1011, "internal: the relay failed to handle a frame")
      }
    })
    ws.on("pong", () => (this.lastSeen = Date.now()))
    ws.on("ping", () => (this.lastSeen = Date.now()))
    ws.on("close", () => this.teardown("the daemon disconnected"))
    ws.on("error", () => this.teardown("the tunnel failed"))
  }

  get activeStreams(): number {
    return this.streams.size
  }

  get queuedBytes(): number {
    return this.closed ? 0 : this.socket.writableLength
  }

  get isOpen(): boolean {
    return !this.closed && !this.draining && this.ws.readyState === WebSocket.OPEN
  }

  /** Called by the router's sweep: ping, or drop a link that stopped answering. */
  keepalive(now: number, deadAfterMs: number): void {
    if (this.closed) return
    if (now - this.lastSeen > deadAfterMs) {
      this.ws.terminate()
      this.teardown("the daemon stopped answering pings")
    } else if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.ping()
    }
  }

  goAway(reason: string): void {
    if (this.closed || this.draining) return
    this.draining = true
    this.send(Frames.goAway(reason))
    if (this.streams.size === 0) this.close(1001, reason)
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120))
    this.teardown(reason)
  }

  /** Why no stream can open now (no daemon, or too many in flight), or undefined. */
  private refusal(): BadGateway | Unavailable | undefined {
    if (!this.isOpen) return new BadGateway({ message: "The daemon is not connected." })
    return this.streams.size >= MAX_STREAMS ? tooManyStreams : undefined
  }

  proxyHttp(req: IncomingMessage, res: ServerResponse, path: string): void {
    const refused = this.refusal()
    if (refused !== undefined) {
      return writeWireError(res, refused, refused._tag === "Unavailable" ? { "retry-after": "1" } : {})
    }
    const stream = newHttpStream(this.allocate(), req, res)
    this.streams.set(stream.id, stream)
    this.send(Frames.open(stream.id, {
      method: req.method ?? "GET",
      path,
      headers: tunnelHeaders(req.rawHeaders),
      upgrade: false
    }))
    res.on("close", () => {
      if (!stream.done) this.cancel(stream, "cancelled", "the browser went away")
    })
    const deadline = headDeadlineMs(req.method ?? "GET", path, this.limits.responseTimeoutMs)
    if (req.method === "GET" || req.method === "HEAD") {
      req.resume()
      this.send(Frames.data(stream.id, new Uint8Array(0), true))
      this.awaitHead(stream, deadline)
    } else {
      stream.uploaded = () => this.awaitHead(stream, deadline)
      void pumpUpload(this.out, stream, () => this.cancel(stream, "cancelled", "the upload was aborted"))
    }
  }

  proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const refused = this.refusal()
    if (refused !== undefined) return rawError(socket, refused)
    const stream = newUpgradeStream(this.allocate(), req, socket, head)
    this.streams.set(stream.id, stream)
    this.awaitHead(stream, this.limits.responseTimeoutMs)
    socket.on("close", () => {
      if (!stream.done) this.cancel(stream, "cancelled", "the browser went away")
    })
    this.send(Frames.open(stream.id, { method: "GET", path, headers: tunnelHeaders(req.rawHeaders), upgrade: true }))
    this.send(Frames.data(stream.id, new Uint8Array(0), true))
  }

  /**
   * A daemon that never answers costs the browser `responseTimeoutMs` (counted once the request
   * is through; a long-poll adds its own wait), not the tunnel's lifetime.
   */
  private awaitHead(stream: Stream, deadlineMs: number): void {
    if (stream.done || stream.responded) return
    stream.headTimer = setTimeout(() => {
      if (stream.done || stream.responded) return
      this.send(Frames.reset(stream.id, "cancelled", "no response head in time"))
      this.finish(stream, new GatewayTimeout({ message: "Your daemon did not answer in time." }))
    }, deadlineMs)
  }

  private send(frame: TunnelFrame): void {
    this.out.send(frame)
  }

  private allocate(): number {
    const id = this.nextId
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1
    return id
  }

  /**
   * Credit bounds each stream; this bounds the tunnel: past `bufferBytes` held for browsers that
   * do not read, the stream holding most is reset (a slow browser loses its answer, not the
   * daemon its tunnel). True when `stream` itself was the one reset.
   */
  private overBudget(stream: Stream): boolean {
    if (this.budget.held <= this.limits.bufferBytes) return false
    let fullest = stream
    for (const s of this.streams.values()) if (s.inFlight > fullest.inFlight) fullest = s
    this.send(Frames.reset(fullest.id, "flow_control", "the browser is not reading"))
    if (fullest.kind === "ws" && fullest.browser !== undefined) {
      this.forget(fullest)
      fullest.browser.terminate()
    } else {
      this.finish(fullest, new BadGateway({ message: "The browser did not take its answer in time." }))
    }
    return fullest === stream
  }

  /** The daemon broke flow control: its stream fails, and so does its tunnel (close code 4008). */
  private overrun(stream: Stream, message: string): void {
    this.resetFromRelay(stream.id, "flow_control", message)
    this.close(TunnelClose.flowControl, `flow_control: ${message}`)
  }

  private receive(data: Buffer): void {
    const decoded = decodeFrame(data)
    if (Either.isLeft(decoded)) {
      const error = decoded.left
      if (error.stream !== null) this.resetFromRelay(error.stream, "protocol_error", `${error.code}: ${error.message}`)
      return
    }
    const frame = decoded.right
    if (frame._tag === "GoAway") {
      this.close(1000, "the daemon is going away")
      return
    }
    const stream = this.streams.get(frame.stream)
    if (stream === undefined) {
      // Advisory answers, so a daemon that does not read cannot make the relay queue them.
      if (this.out.congested) return
      if (frame._tag === "Response" || frame._tag === "Data" || frame._tag === "WsMessage" || frame._tag === "Open") {
        this.send(Frames.reset(frame.stream, frame._tag === "Open" ? "refused" : "protocol_error", "unknown stream"))
      }
      return
    }
    switch (frame._tag) {
      case "Open":
        return this.resetFromRelay(stream.id, "protocol_error", "a daemon cannot open streams")
      case "Response":
        return this.answers.onResponse(stream, frame.head)
      case "Data":
        return this.answers.onData(stream, frame.body, frame.end)
      case "Window":
        return stream.up.add(frame.increment)
      case "Reset":
        return this.finish(stream, new BadGateway({ message: `The daemon reset the request (${frame.code}).` }))
      case "WsMessage":
        return this.sockets.onWsMessage(stream, frame)
      case "WsClose":
        return this.sockets.onWsClose(stream, frame.code, frame.reason)
    }
  }

  /** The relay found the daemon's frames wrong: tell the daemon and fail the browser's side. */
  private resetFromRelay(id: number, code: ResetCode, message: string): void {
    this.send(Frames.reset(id, code, message))
    const stream = this.streams.get(id)
    if (stream !== undefined) this.finish(stream, new BadGateway({ message: `The tunnel stream failed (${code}).` }))
  }

  private cancel(stream: Stream, code: ResetCode, message: string): void {
    this.send(Frames.reset(stream.id, code, message))
    this.forget(stream)
  }

  private finish(stream: Stream, error: AnyWireError): void {
    this.forget(stream)
    if (stream.kind === "http") {
      writeWireError(stream.res, error)
    } else if (stream.browser !== undefined) {
      stream.browser.close(1011, "tunnel stream failed")
    } else if (!stream.responded) {
      rawError(stream.socket, error)
    } else {
      stream.socket.destroy()
    }
  }

  private forget(stream: Stream): void {
    if (!stream.done) this.budget.drop(stream)
    clearTimeout(stream.headTimer)
    stream.done = true
    stream.up.close()
    this.streams.delete(stream.id)
    if (this.draining && this.streams.size === 0) this.close(1001, "drained")
  }

  private teardown(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.out.wakeWriters()
    const unreachable = new BadGateway({ message: `The daemon is unreachable: ${reason}.` })
    for (const stream of [...this.streams.values()]) this.finish(stream, unreachable)
    this.onClosed(this)
  }
}
