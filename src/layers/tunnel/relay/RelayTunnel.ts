import { Either } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocket, type WebSocketServer } from "ws"
import {
  DATA_CHUNK,
  decodeFrame,
  encodeFrame,
  Frames,
  INITIAL_WINDOW,
  type ResetCode,
  type ResponseHead,
  type TunnelFrame
} from "../../../protocol/TunnelFrame.js"
import { TunnelClose } from "../../../protocol/TunnelClose.js"
import { tunnelHeaders } from "../../../protocol/TunnelRoutes.js"
import { SendCredit, sendWithCredit } from "../shared/Credit.js"
import { writeBatcher } from "../shared/WriteBatch.js"
import type { TunnelInfo, TunnelLink } from "../../../services/RelayRouter.js"
import { errorPage } from "../../JsonResponses.js"
import { headDeadlineMs } from "./HeadDeadline.js"
import { declaredBodyLength } from "./ResponseFraming.js"
import {
  droppedResponseHeaders,
  type HttpStream,
  rawResponse,
  type Stream,
  type UpgradeStream,
  validCloseCode
} from "./TunnelStreams.js"

const MAX_STREAM_WINDOW = 4 * 1024 * 1024
const TUNNEL_GROWTH_BUDGET = 32 * 1024 * 1024
/** Concurrent browser requests one daemon's tunnel carries; beyond it the browser gets 503. */
const MAX_STREAMS = 512
/** Frames a WebSocket stream may hold while its browser is being accepted (bytes count against its window). */
const MAX_PENDING_FRAMES = 256
/** Uploads wait while this much is queued for the daemon, so its socket sets the pace. */
const OUTBOUND_HIGH_WATER = 1024 * 1024
/** A daemon that leaves this much unread (answers it provoked, credit it never used) is dropped. */
const MAX_OUTBOUND_BACKLOG = 8 * 1024 * 1024

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
export class RelayTunnel implements TunnelLink {
  private readonly streams = new Map<number, Stream>()
  private nextId = 1
  private draining = false
  /** Window granted beyond INITIAL_WINDOW, summed over live streams. */
  private grown = 0
  /** Bytes from the daemon that browsers have not taken yet, summed over live streams. */
  private held = 0
  private closed = false
  lastSeen = Date.now()
  readonly connectedAt = new Date().toISOString()
  private readonly batch: (size: number) => void

  constructor(
    readonly info: TunnelInfo,
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly wss: WebSocketServer,
    private readonly limits: TunnelLimits,
    private readonly onClosed: (tunnel: RelayTunnel) => void
  ) {
    this.batch = writeBatcher(socket)
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
    socket.on("drain", () => this.wakeWriters())
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

  proxyHttp(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (!this.isOpen) {
      errorPage(res, 502, "The daemon is not connected.")
      return
    }
    if (this.streams.size >= MAX_STREAMS) {
      errorPage(res, 503, "Too many requests in flight to this daemon.", { "retry-after": "1" })
      return
    }
    const stream: HttpStream = {
      kind: "http", id: this.allocate(), up: new SendCredit(INITIAL_WINDOW), inFlight: 0, window: INITIAL_WINDOW, unacked: 0,
      responded: false, done: false, headTimer: undefined, req, res, remaining: undefined
    }
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
      void this.pumpUpload(stream)
    }
  }

  proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    if (!this.isOpen) {
      rawResponse(socket, 502, "The daemon is not connected.")
      return
    }
    if (this.streams.size >= MAX_STREAMS) {
      rawResponse(socket, 503, "Too many requests in flight to this daemon.")
      return
    }
    const stream: UpgradeStream = {
      kind: "ws", id: this.allocate(), up: new SendCredit(INITIAL_WINDOW), inFlight: 0, window: INITIAL_WINDOW, unacked: 0,
      responded: false, done: false, headTimer: undefined, req, socket, head, browser: undefined, pending: [], backlog: 0,
      sending: Promise.resolve()
    }
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
      this.finish(stream, 504, "Your daemon did not answer in time.")
    }, deadlineMs)
  }

  private allocate(): number {
    const id = this.nextId
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1
    return id
  }

  private send(frame: TunnelFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    if (this.socket.writableLength > MAX_OUTBOUND_BACKLOG) {
      // A close frame would wait behind what the daemon does not read: cut the socket.
      this.ws.terminate()
      this.teardown("flow_control: the daemon stopped reading its tunnel")
      return
    }
    const bytes = encodeFrame(frame)
    this.batch(bytes.length)
    this.ws.send(bytes)
  }

  private writers: Array<() => void> = []

  /** Resolves once the tunnel's socket has room again (or the tunnel is gone). */
  private writable(): Promise<void> {
    if (this.closed || this.socket.writableLength <= OUTBOUND_HIGH_WATER) return Promise.resolve()
    return new Promise((resolve) => this.writers.push(resolve))
  }

  private wakeWriters(): void {
    const writers = this.writers
    this.writers = []
    writers.forEach((w) => w())
  }

  private hold(stream: Stream, bytes: number): void {
    stream.inFlight += bytes
    this.held += bytes
  }

  private release(stream: Stream, bytes: number): void {
    stream.inFlight -= bytes
    if (!stream.done) this.held -= bytes
  }

  /**
   * Credit bounds each stream; this bounds the tunnel: past `bufferBytes` held for browsers that
   * do not read, the stream holding most is reset (a slow browser loses its answer, not the
   * daemon its tunnel). True when `stream` itself was the one reset.
   */
  private overBudget(stream: Stream): boolean {
    if (this.held <= this.limits.bufferBytes) return false
    let fullest = stream
    for (const s of this.streams.values()) if (s.inFlight > fullest.inFlight) fullest = s
    this.send(Frames.reset(fullest.id, "flow_control", "the browser is not reading"))
    if (fullest.kind === "ws" && fullest.browser !== undefined) {
      this.forget(fullest)
      fullest.browser.terminate()
    } else {
      this.finish(fullest, 502, "The browser did not take its answer in time.")
    }
    return fullest === stream
  }

  /** The daemon broke flow control: its stream fails, and so does its tunnel (close code 4008). */
  private overrun(stream: Stream, message: string): void {
    this.resetFromRelay(stream.id, "flow_control", message)
    this.close(TunnelClose.flowControl, `flow_control: ${message}`)
  }

  private async pumpUpload(stream: HttpStream): Promise<void> {
    try {
      for await (const chunk of stream.req as AsyncIterable<Buffer>) {
        await this.writable()
        const ok = await sendWithCredit(stream.up, chunk, DATA_CHUNK, (piece) => this.send(Frames.data(stream.id, piece)))
        if (!ok) return
      }
      if (stream.done) return
      this.send(Frames.data(stream.id, new Uint8Array(0), true))
      stream.uploaded?.()
    } catch {
      if (!stream.done) this.cancel(stream, "cancelled", "the upload was aborted")
    }
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
      if (this.socket.writableLength > OUTBOUND_HIGH_WATER) return
      if (frame._tag === "Response" || frame._tag === "Data" || frame._tag === "WsMessage" || frame._tag === "Open") {
        this.send(Frames.reset(frame.stream, frame._tag === "Open" ? "refused" : "protocol_error", "unknown stream"))
      }
      return
    }
    switch (frame._tag) {
      case "Open":
        return this.resetFromRelay(stream.id, "protocol_error", "a daemon cannot open streams")
      case "Response":
        return this.onResponse(stream, frame.head)
      case "Data":
        return this.onData(stream, frame.body, frame.end)
      case "Window":
        return stream.up.add(frame.increment)
      case "Reset":
        return this.finish(stream, 502, `The daemon reset the request (${frame.code}).`)
      case "WsMessage":
        return this.onWsMessage(stream, frame)
      case "WsClose":
        return this.onWsClose(stream, frame.code, frame.reason)
    }
  }

  private onResponse(stream: Stream, head: ResponseHead): void {
    if (stream.responded) return this.resetFromRelay(stream.id, "protocol_error", "a second response head")
    stream.responded = true
    clearTimeout(stream.headTimer)
    const headers = head.headers.filter(([k]) => !droppedResponseHeaders.has(k.toLowerCase())).flat()
    if (stream.kind === "http") {
      const length = declaredBodyLength(head.status, head.headers)
      if (length === "invalid") return this.resetFromRelay(stream.id, "protocol_error", "a response head with bad framing")
      stream.remaining = length
      try {
        stream.res.writeHead(head.status, headers)
      } catch {
        return this.resetFromRelay(stream.id, "protocol_error", "a response header Node refuses to send")
      }
      // The head leaves with the first body bytes when they came in the same read (most
      // answers); otherwise (SSE, a slow body) on its own right after, so nothing waits on it.
      setImmediate(() => {
        // headersSent is already true after writeHead; flushing once more when the body went out costs an empty write.
        if (!stream.res.writableEnded && !stream.res.destroyed) stream.res.flushHeaders()
      })
      return
    }
    if (head.status !== 101) {
      stream.socket.write(
        `HTTP/1.1 ${head.status} ${STATUS_CODES[head.status] ?? ""}\r\n` +
          head.headers.filter(([k]) => !droppedResponseHeaders.has(k.toLowerCase())).map(([k, v]) => `${k}: ${v}\r\n`)
            .join("") + "connection: close\r\n\r\n"
      )
      return
    }
    this.wss.handleUpgrade(stream.req, stream.socket, stream.head, (browser) => {
      stream.browser = browser
      browser.on("message", (data: Buffer, isBinary) => this.forwardBrowserMessage(stream, browser, data, !isBinary))
      browser.on("close", (code, reason) => {
        if (stream.done) return
        this.send(Frames.wsClose(stream.id, validCloseCode(code) ? code : 1000, reason.toString("utf8").slice(0, 120)))
        this.forget(stream)
      })
      browser.on("error", () => undefined)
      const pending = stream.pending
      stream.pending = []
      for (const f of pending) {
        if (stream.done) return
        if (f._tag === "WsMessage") {
          this.release(stream, Math.max(1, f.body.length))
          this.onWsMessage(stream, f)
        } else this.receiveFrameAgain(stream, f)
      }
    })
  }

  /**
   * Browser -> daemon messages spend the stream's credit like bodies do; while they wait, the
   * browser's socket is paused past a small backlog, so a flooding page cannot grow the relay.
   */
  private forwardBrowserMessage(stream: UpgradeStream, browser: WebSocket, data: Buffer, text: boolean) {
    if (stream.done) return
    stream.backlog += data.length
    if (stream.backlog > INITIAL_WINDOW) browser.pause()
    stream.sending = stream.sending.then(async () => {
      let need = Math.max(1, data.length)
      while (need > 0) {
        const granted = await stream.up.take(need)
        if (granted === 0) return
        need -= granted
      }
      await this.writable()
      stream.backlog -= data.length
      if (stream.backlog <= INITIAL_WINDOW) browser.resume()
      if (!stream.done) this.send(Frames.wsMessage(stream.id, data, text))
    })
  }

  private receiveFrameAgain(stream: UpgradeStream, frame: TunnelFrame) {
    if (frame._tag === "WsClose") this.onWsClose(stream, frame.code, frame.reason)
  }

  private onData(stream: Stream, body: Uint8Array, end: boolean): void {
    if (!stream.responded) return this.resetFromRelay(stream.id, "protocol_error", "body before the response head")
    this.hold(stream, body.length)
    if (stream.inFlight + stream.unacked > stream.window) return this.overrun(stream, "window exceeded")
    if (this.overBudget(stream)) return
    if (stream.kind === "http" && stream.remaining !== undefined) {
      // The declared length is the framing the browser reads by: never a byte past it, never short of it.
      if (body.length > stream.remaining) return this.resetFromRelay(stream.id, "protocol_error", "body longer than its Content-Length")
      stream.remaining -= body.length
      if (end && stream.remaining > 0) return this.resetFromRelay(stream.id, "protocol_error", "body shorter than its Content-Length")
    }
    const sink = stream.kind === "http" ? stream.res : stream.socket
    const ack = () => {
      this.release(stream, body.length)
      if (stream.done || body.length === 0) return
      // Credit goes back a quarter window at a time, not per frame: a download then costs
      // a few Window frames per MiB instead of one per chunk, and the daemon still always
      // has at least three quarters of its window to send into.
      stream.unacked += body.length
      if (stream.unacked < stream.window / 4) return
      const increment = stream.unacked + this.grow(stream, sink.writableLength)
      stream.unacked = 0
      this.send(Frames.window(stream.id, increment))
    }
    if (body.length > 0) sink.write(body, ack)
    if (end) {
      this.forget(stream)
      sink.end()
    }
  }

  /**
   * A stream whose browser keeps up gets a bigger window (doubling, up to MAX_STREAM_WINDOW)
   * so one download can fill the link; a stalled one never grows. Growth across a tunnel is
   * capped, which bounds what stalled readers can make the relay hold.
   */
  private grow(stream: Stream, backlog: number): number {
    if (backlog >= DATA_CHUNK || stream.window >= MAX_STREAM_WINDOW) return 0
    const bump = Math.min(stream.window, MAX_STREAM_WINDOW - stream.window, TUNNEL_GROWTH_BUDGET - this.grown)
    if (bump <= 0) return 0
    stream.window += bump
    this.grown += bump
    return bump
  }

  private onWsMessage(stream: Stream, frame: Extract<TunnelFrame, { _tag: "WsMessage" }>): void {
    if (stream.kind !== "ws") return this.resetFromRelay(stream.id, "protocol_error", "a WebSocket message on HTTP")
    // An empty message still costs one byte of credit (the daemon charges it so too).
    const cost = Math.max(1, frame.body.length)
    this.hold(stream, cost)
    if (stream.browser === undefined) {
      // Held until the browser is accepted: the bytes spend the stream's window like delivered ones.
      if (stream.inFlight + stream.unacked > stream.window) return this.overrun(stream, "window exceeded before the browser was accepted")
      if (this.overBudget(stream)) return
      if (stream.pending.length >= MAX_PENDING_FRAMES) return this.overrun(stream, "too many frames before the browser was accepted")
      stream.pending.push(frame)
      return
    }
    if (stream.inFlight + stream.unacked > stream.window) return this.overrun(stream, "window exceeded")
    if (this.overBudget(stream)) return
    stream.browser.send(frame.body, { binary: !frame.text }, () => {
      this.release(stream, cost)
      if (stream.done) return
      // Credited a quarter window at a time, as bodies are: one Window frame per message would
      // let a daemon sending tiny messages make the relay write as many frames back.
      stream.unacked += cost
      if (stream.unacked < stream.window / 4) return
      this.send(Frames.window(stream.id, stream.unacked))
      stream.unacked = 0
    })
  }

  private onWsClose(stream: Stream, code: number, reason: string): void {
    if (stream.kind !== "ws") return this.resetFromRelay(stream.id, "protocol_error", "a WebSocket close on HTTP")
    if (stream.browser === undefined) {
      if (stream.pending.length >= MAX_PENDING_FRAMES) return this.overrun(stream, "too many frames before the browser was accepted")
      stream.pending.push(Frames.wsClose(stream.id, code, reason))
      return
    }
    this.forget(stream)
    stream.browser.close(validCloseCode(code) ? code : 1000, reason)
  }

  /** The relay found the daemon's frames wrong: tell the daemon and fail the browser's side. */
  private resetFromRelay(id: number, code: ResetCode, message: string): void {
    this.send(Frames.reset(id, code, message))
    const stream = this.streams.get(id)
    if (stream !== undefined) this.finish(stream, 502, `The tunnel stream failed (${code}).`)
  }

  private cancel(stream: Stream, code: ResetCode, message: string): void {
    this.send(Frames.reset(stream.id, code, message))
    this.forget(stream)
  }

  private finish(stream: Stream, status: number, message: string): void {
    this.forget(stream)
    if (stream.kind === "http") {
      if (!stream.res.headersSent) errorPage(stream.res, status, message)
      else stream.res.destroy()
    } else if (stream.browser !== undefined) {
      stream.browser.close(1011, "tunnel stream failed")
    } else if (!stream.responded) {
      rawResponse(stream.socket, status, message)
    } else {
      stream.socket.destroy()
    }
  }

  private forget(stream: Stream): void {
    if (!stream.done) {
      this.grown -= stream.window - INITIAL_WINDOW
      this.held -= stream.inFlight
    }
    clearTimeout(stream.headTimer)
    stream.done = true
    stream.up.close()
    this.streams.delete(stream.id)
    if (this.draining && this.streams.size === 0) this.close(1001, "drained")
  }

  private teardown(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.wakeWriters()
    for (const stream of [...this.streams.values()]) this.finish(stream, 502, `The daemon is unreachable: ${reason}.`)
    this.onClosed(this)
  }
}
