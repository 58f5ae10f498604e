import type { Duplex } from "node:stream"
import { WebSocket } from "ws"
import { encodeFrame, type TunnelFrame } from "../../../protocol/TunnelFrame.js"
import { writeBatcher } from "../shared/WriteBatch.js"

/** Uploads wait while this much is queued for the daemon, so its socket sets the pace. */
const OUTBOUND_HIGH_WATER = 1024 * 1024
/** A daemon that leaves this much unread (answers it provoked, credit it never used) is dropped. */
const MAX_OUTBOUND_BACKLOG = 8 * 1024 * 1024

/** What the relay writes to one daemon's tunnel, and the back-pressure its socket puts on writers. */
export class TunnelOutbound {
  private readonly batch: (size: number) => void
  private writers: Array<() => void> = []

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly isClosed: () => boolean,
    /** The daemon stopped reading: the tunnel is cut. */
    private readonly onStalled: () => void
  ) {
    this.batch = writeBatcher(socket)
    socket.on("drain", () => this.wakeWriters())
  }

  /** More is queued for the daemon than it should be asked to take. */
  get congested(): boolean {
    return this.socket.writableLength > OUTBOUND_HIGH_WATER
  }

  send(frame: TunnelFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    if (this.socket.writableLength > MAX_OUTBOUND_BACKLOG) {
      // A close frame would wait behind what the daemon does not read: cut the socket.
      this.ws.terminate()
      this.onStalled()
      return
    }
    const bytes = encodeFrame(frame)
    this.batch(bytes.length)
    this.ws.send(bytes)
  }

  /** Resolves once the tunnel's socket has room again (or the tunnel is gone). */
  writable(): Promise<void> {
    if (this.isClosed() || this.socket.writableLength <= OUTBOUND_HIGH_WATER) return Promise.resolve()
    return new Promise((resolve) => this.writers.push(resolve))
  }

  wakeWriters(): void {
    const writers = this.writers
    this.writers = []
    writers.forEach((w) => w())
  }
}
