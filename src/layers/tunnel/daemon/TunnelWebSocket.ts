import { DATA_CHUNK } from "../../../protocol/TunnelFrame.js"
import { SendCredit, sendWithCredit } from "../shared/Credit.js"

const MAX_QUEUED = 8 * 1024 * 1024
const decoder = new TextDecoder()
const encoder = new TextEncoder()

/**
 * The daemon's side of a browser WebSocket that came through the tunnel, shaped like a
 * browser WebSocket so `Socket.fromWebSocket` can wrap it: a tunnelled request's
 * `upgrade` then hands the app an ordinary @effect/platform Socket.
 */
export class TunnelWebSocket extends EventTarget {
  readyState = 1
  binaryType = "arraybuffer"
  readonly protocol = ""
  readonly extensions = ""
  private queued = 0
  /** Messages in the promise chain, not yet sent: while any wait, later ones queue behind them. */
  private waiting = 0
  private sending: Promise<void> = Promise.resolve()

  constructor(
    private readonly credit: SendCredit,
    private readonly sendMessage: (body: Uint8Array, text: boolean) => void,
    private readonly sendClose: (code: number, reason: string) => void
  ) {
    super()
  }

  get bufferedAmount(): number {
    return this.queued
  }

  send(data: string | Uint8Array | ArrayBuffer): void {
    if (this.readyState !== 1) return
    const text = typeof data === "string"
    const body = typeof data === "string"
      ? encoder.encode(data)
      : data instanceof Uint8Array
      ? data
      : new Uint8Array(data)
    this.queued += body.length
    if (this.queued > MAX_QUEUED) {
      this.close(1008, "the browser is not reading")
      return
    }
    // A WebSocket message is one frame, so it waits for credit for its whole size (capped at a chunk).
    const cost = Math.max(1, Math.min(body.length, DATA_CHUNK))
    // Nothing queued ahead and the credit is there: sent now, without a promise hop.
    const now = this.waiting === 0 ? this.credit.takeNow(cost) : 0
    if (now === cost && cost >= body.length) {
      this.queued -= body.length
      this.sendMessage(body, text)
      return
    }
    this.waiting++
    this.sending = this.sending.then(async () => {
      try {
        const granted = now > 0 ? now : await this.credit.take(cost)
        if (granted === 0) return
        if (body.length > granted) {
          const rest = body.length - granted
          if (!(await sendWithCredit(this.credit, new Uint8Array(rest), DATA_CHUNK, () => undefined))) return
        }
        this.queued -= body.length
        if (this.readyState === 1) this.sendMessage(body, text)
      } finally {
        this.waiting--
      }
    })
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return
    this.readyState = 3
    void this.sending.then(() => this.sendClose(code, reason))
    this.emitClose(code, reason)
  }

  /** A message from the browser. */
  deliver(body: Uint8Array, text: boolean): void {
    if (this.readyState !== 1) return
    this.dispatchEvent(new MessageEvent("message", { data: text ? decoder.decode(body) : body }))
  }

  /** The browser (or the tunnel) closed it. */
  remoteClose(code: number, reason: string): void {
    if (this.readyState >= 2) return
    this.readyState = 3
    this.credit.close()
    this.emitClose(code, reason)
  }

  private emitClose(code: number, reason: string) {
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 }))
  }
}
