import { Redacted, Schema } from "effect"
import WebSocket from "ws"
import {
  decodeMeshFrame,
  encodeMeshFrame,
  MAX_MESH_FRAME,
  MESH_PATH,
  type MeshNote,
  MeshNoteJson
} from "../../protocol/MeshRelayWire.js"
import { DAEMON_ID_HEADER } from "../../protocol/RelayApi.js"
import type { RelaySettings } from "../tunnel/daemon/Dialer.js"

export interface MeshDialerHandlers {
  readonly onFrame: (from: string, payload: Uint8Array) => void
  readonly onNote: (note: MeshNote) => void
  readonly onDown: () => void
}

const decodeNote = Schema.decodeUnknownOption(MeshNoteJson)

/** wss://host[/prefix] → wss://host[/prefix]/mesh. */
export const meshUrl = (url: string): string => {
  const u = new URL(url)
  u.protocol = u.protocol === "https:" ? "wss:" : u.protocol === "http:" ? "ws:" : u.protocol
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${MESH_PATH}`
  u.search = ""
  u.hash = ""
  return u.toString()
}

/**
 * The daemon's socket on the relay's daemon-to-daemon switch: dialled while the relay is
 * configured, pinged, and dialled again with capped, jittered backoff when it drops.
 */
export class MeshDialer {
  private ws: WebSocket | undefined
  private retry: ReturnType<typeof setTimeout> | undefined
  private pinger: ReturnType<typeof setInterval> | undefined
  private attempt = 0
  private stopped = false
  lastError: string | null = null

  constructor(
    private readonly settings: RelaySettings,
    private readonly ca: string | Buffer | undefined,
    private readonly handlers: MeshDialerHandlers,
    private readonly timing = { pingMs: 4_000, backoffMaxMs: 5_000 }
  ) {
    this.dial()
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  /** Bytes handed to the switch socket that it has not sent yet. */
  get backlog(): number {
    return this.ws?.bufferedAmount ?? 0
  }

  /** Sends a frame to a daemon of this user; false when the switch is not connected. */
  send(to: string, payload: Uint8Array): boolean {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return false
    ws.send(encodeMeshFrame(to, payload))
    return true
  }

  stop(): void {
    this.stopped = true
    if (this.retry !== undefined) clearTimeout(this.retry)
    if (this.pinger !== undefined) clearInterval(this.pinger)
    this.ws?.removeAllListeners("close")
    this.ws?.on("error", () => undefined)
    this.ws?.terminate()
    this.ws = undefined
  }

  private dial(): void {
    if (this.stopped) return
    const url = meshUrl(this.settings.url)
    const ws = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${Redacted.value(this.settings.apiKey)}`,
        [DAEMON_ID_HEADER]: this.settings.daemonId
      },
      perMessageDeflate: false,
      maxPayload: MAX_MESH_FRAME,
      handshakeTimeout: 10_000,
      ...(this.ca === undefined ? {} : { ca: this.ca })
    })
    this.ws = ws
    let alive = true
    ws.on("unexpected-response", (_req, res) => {
      this.lastError = `the relay answered ${res.statusCode} instead of opening the mesh link`
      res.resume()
      ws.terminate()
    })
    ws.on("error", (e) => (this.lastError = e.message))
    ws.on("open", () => {
      this.attempt = 0
      this.lastError = null
      this.pinger = setInterval(() => {
        if (!alive) return ws.terminate()
        alive = false
        ws.ping()
      }, this.timing.pingMs)
    })
    ws.on("pong", () => (alive = true))
    ws.on("message", (data: Buffer, isBinary) => {
      alive = true
      if (!isBinary) {
        const note = decodeNote(data.toString("utf8"))
        if (note._tag === "Some") this.handlers.onNote(note.value)
        return
      }
      const frame = decodeMeshFrame(data)
      if (frame !== undefined) this.handlers.onFrame(frame.id, frame.payload)
    })
    ws.on("close", () => {
      if (this.pinger !== undefined) clearInterval(this.pinger)
      this.pinger = undefined
      if (this.ws === ws) this.ws = undefined
      this.handlers.onDown()
      if (this.stopped) return
      const base = Math.min(this.timing.backoffMaxMs, 100 * 2 ** this.attempt)
      this.attempt = Math.min(this.attempt + 1, 30)
      this.retry = setTimeout(() => this.dial(), base / 2 + Math.random() * (base / 2))
    })
  }
}
