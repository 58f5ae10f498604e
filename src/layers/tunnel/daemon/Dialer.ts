import { Redacted } from "effect"
import type { Duplex } from "node:stream"
import WebSocket from "ws"
import type { RelayStatus } from "../../../protocol/DaemonApi.js"
import { DAEMON_ID_HEADER } from "../../../protocol/RelayApi.js"
import { HEADER_BYTES, MAX_FRAME_PAYLOAD } from "../../../protocol/TunnelFrame.js"
import { sendSplit, SPLIT_MIN } from "../shared/SplitSend.js"
import { writeBatcher } from "../shared/WriteBatch.js"

export interface RelaySettings {
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly daemonId: string
}

export interface DialerOptions {
  /** Extra CA certificates to trust (a self-signed relay); the system store otherwise. */
  readonly ca?: string | Buffer | undefined
  readonly pingIntervalMs: number
  /** A link with no traffic or pong for this long is dead: close it and dial again. */
  readonly deadAfterMs: number
  readonly backoffInitialMs: number
  readonly backoffMaxMs: number
}

export const defaultDialerOptions: DialerOptions = {
  pingIntervalMs: 4_000,
  deadAfterMs: 11_000,
  backoffInitialMs: 100,
  backoffMaxMs: 10_000
}

/** wss://host[/prefix] → wss://host[/prefix]/tunnel; https → wss, http → ws. */
export const tunnelUrl = (url: string): string => {
  const u = new URL(url)
  u.protocol = u.protocol === "https:" ? "wss:" : u.protocol === "http:" ? "ws:" : u.protocol
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/tunnel`
  u.search = ""
  u.hash = ""
  return u.toString()
}

export interface Link {
  readonly send: (bytes: Uint8Array) => void
  /** Sends `head` and `body` as one frame, without copying `body` where the link allows it. */
  readonly sendParts: (head: Uint8Array, body: Uint8Array) => void
}

/**
 * Keeps one WebSocket to the relay open: dials, pings, notices a dead link, and dials again
 * with capped, jittered exponential backoff. Frames go to `onOpen`'s handler.
 */
export class Dialer {
  status: RelayStatus = { status: "disabled", url: null, last_error: null, last_connected_at: null }
  private ws: WebSocket | undefined
  private settings: RelaySettings | undefined
  private attempt = 0
  /** After the relay said it was going away (a restart), retry with a short cap for a while. */
  private restartingUntil = 0
  private retry: ReturnType<typeof setTimeout> | undefined
  private pinger: ReturnType<typeof setInterval> | undefined
  private lastSeen = 0
  private generation = 0
  private handlers: ReturnType<typeof this.onOpen> | undefined

  constructor(
    private readonly options: DialerOptions,
    private readonly onOpen: (link: Link) => { onFrame: (data: Buffer) => void; onClose: () => void }
  ) {}

  configure(settings: RelaySettings | undefined): void {
    this.stop()
    this.settings = settings
    this.attempt = 0
    this.status = settings === undefined
      ? { status: "disabled", url: null, last_error: null, last_connected_at: null }
      : { ...this.status, status: "connecting", url: settings.url }
    if (settings !== undefined) this.dial()
  }

  stop(): void {
    this.generation += 1
    if (this.retry !== undefined) clearTimeout(this.retry)
    if (this.pinger !== undefined) clearInterval(this.pinger)
    this.retry = undefined
    this.pinger = undefined
    const ws = this.ws
    this.ws = undefined
    // The old link's streams end here: its close event is no longer listened to.
    this.handlers?.onClose()
    this.handlers = undefined
    if (ws !== undefined) {
      ws.removeAllListeners("close")
      ws.on("error", () => undefined)
      if (ws.readyState === WebSocket.OPEN) ws.close(1001, "daemon stopping")
      else ws.terminate()
    }
  }

  private dial(): void {
    const settings = this.settings
    if (settings === undefined) return
    const generation = this.generation
    this.status = { ...this.status, status: "connecting" }
    const url = tunnelUrl(settings.url)
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${Redacted.value(settings.apiKey)}`, [DAEMON_ID_HEADER]: settings.daemonId },
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_PAYLOAD + HEADER_BYTES,
      handshakeTimeout: 10_000,
      // Masking guards browsers against proxy cache poisoning; inside TLS it only costs CPU (both ends skip a zero mask).
      ...(url.startsWith("wss:") ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca })
    })
    this.ws = ws
    let error: string | undefined
    let batch = (_size: number) => {}
    let socket: Duplex | undefined
    ws.on("upgrade", (res) => {
      socket = res.socket
      batch = writeBatcher(res.socket)
    })
    const secure = url.startsWith("wss:")
    ws.on("unexpected-response", (_req, res) => {
      error = res.statusCode === 401
        ? "the relay refused the key (401): run `repowire setup --relay URL` or `repowire relay rotate-key`"
        : `the relay answered ${res.statusCode} instead of opening the tunnel`
      res.resume()
      ws.terminate()
    })
    ws.on("error", (e) => (error ??= e.message))
    ws.on("open", () => {
      if (generation !== this.generation) return
      this.attempt = 0
      this.lastSeen = Date.now()
      this.status = {
        ...this.status,
        status: "connected",
        last_error: null,
        last_connected_at: new Date().toISOString()
      }
      const send = (bytes: Uint8Array) => {
        if (ws.readyState !== WebSocket.OPEN) return
        batch(bytes.length)
        ws.send(bytes)
      }
      const sendParts = (head: Uint8Array, body: Uint8Array) => {
        if (secure && socket !== undefined && body.length >= SPLIT_MIN) {
          if (ws.readyState === WebSocket.OPEN) sendSplit(socket, head, body)
          return
        }
        const joined = new Uint8Array(head.length + body.length)
        joined.set(head)
        joined.set(body, head.length)
        send(joined)
      }
      this.handlers = this.onOpen({ send, sendParts })
      this.pinger = setInterval(() => {
        if (Date.now() - this.lastSeen > this.options.deadAfterMs) {
          error = `no answer from the relay for ${Math.round(this.options.deadAfterMs / 1000)} s`
          ws.terminate()
        } else ws.ping()
      }, this.options.pingIntervalMs)
    })
    ws.on("message", (data: Buffer, isBinary) => {
      this.lastSeen = Date.now()
      if (isBinary && generation === this.generation) this.handlers?.onFrame(data)
    })
    ws.on("pong", () => (this.lastSeen = Date.now()))
    ws.on("ping", () => (this.lastSeen = Date.now()))
    ws.on("close", (code, reason) => {
      if (this.pinger !== undefined) clearInterval(this.pinger)
      this.pinger = undefined
      if (generation !== this.generation) return
      this.handlers?.onClose()
      this.handlers = undefined
      const why = error ??
        (reason.length > 0 ? `the relay closed the tunnel: ${reason.toString()}` : `closed (${code})`)
      this.status = { ...this.status, status: "down", last_error: why }
      const graceful = code === 1001 || code === 4001
      if (code === 1001) this.restartingUntil = Date.now() + 60_000
      this.schedule(graceful)
    })
  }

  private schedule(soon: boolean): void {
    const cap = Date.now() < this.restartingUntil
      ? Math.min(1_000, this.options.backoffMaxMs)
      : this.options.backoffMaxMs
    const base = soon ? this.options.backoffInitialMs : Math.min(cap, this.options.backoffInitialMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 30)
    const delay = base / 2 + Math.random() * (base / 2)
    this.retry = setTimeout(() => {
      this.retry = undefined
      this.dial()
    }, delay)
  }
}
