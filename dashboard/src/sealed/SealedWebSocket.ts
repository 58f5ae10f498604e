import type { SealedWebSocket } from "../../../src/protocol/sealed/ChannelClient.js"
import type { ChannelSource } from "./sealedFetch.js"

type Handler = ((this: WebSocket, event: any) => any) | null

/** The browser's `WebSocket` surface over a WebSocket inside the sealed channel. */
export const makeSealedWebSocket = (channel: ChannelSource): typeof WebSocket => {
  class SealedWebSocketAdapter extends EventTarget {
    static readonly CONNECTING = 0
    static readonly OPEN = 1
    static readonly CLOSING = 2
    static readonly CLOSED = 3
    readonly CONNECTING = 0
    readonly OPEN = 1
    readonly CLOSING = 2
    readonly CLOSED = 3
    readyState: number = 0
    binaryType: BinaryType = "blob"
    readonly bufferedAmount = 0
    readonly extensions = ""
    readonly protocol = ""
    readonly url: string
    onopen: Handler = null
    onmessage: Handler = null
    onclose: Handler = null
    onerror: Handler = null
    private socket: SealedWebSocket | undefined

    constructor(url: string | URL) {
      super()
      const target = new URL(url, location.href)
      this.url = target.href
      if (target.host !== location.host || !/^(wss?|https?):$/.test(target.protocol)) {
        throw new SyntaxError(`the sealed channel opens WebSockets on this origin only, not ${target.href}`)
      }
      void this.start(target.pathname + target.search)
    }

    private emit(event: Event) {
      this.dispatchEvent(event)
      const handler =
        ({ open: this.onopen, message: this.onmessage, close: this.onclose, error: this.onerror } as Record<
          string,
          Handler
        >)[event.type]
      handler?.call(this as unknown as WebSocket, event)
    }

    private async start(path: string) {
      try {
        const socket = await (await channel()).websocket(path)
        if (this.readyState !== 0) return socket.close(1000, "")
        this.socket = socket
        socket.onmessage = (data) => {
          if (this.readyState !== 1) return
          const payload = typeof data === "string"
            ? data
            : this.binaryType === "arraybuffer"
            ? data.slice().buffer
            : new Blob([data.slice()])
          this.emit(new MessageEvent("message", { data: payload, origin: location.origin }))
        }
        socket.onclose = (code, reason) => this.finish(code, reason)
        this.readyState = 1
        this.emit(new Event("open"))
      } catch (e) {
        this.emit(new Event("error"))
        this.finish(1006, e instanceof Error ? e.message : String(e))
      }
    }

    send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
      if (this.readyState !== 1 || this.socket === undefined) {
        throw new DOMException("the WebSocket is not open", "InvalidStateError")
      }
      const socket = this.socket
      if (typeof data === "string") void socket.send(data)
      else if (data instanceof Blob) void data.arrayBuffer().then((b) => socket.send(new Uint8Array(b)))
      else if (ArrayBuffer.isView(data)) void socket.send(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      else void socket.send(new Uint8Array(data))
    }

    close(code = 1000, reason = ""): void {
      if (this.readyState >= 2) return
      this.readyState = 2
      this.socket?.close(code, reason)
      this.finish(code, reason)
    }

    private finish(code: number, reason: string) {
      if (this.readyState === 3) return
      this.readyState = 3
      this.emit(new CloseEvent("close", { code, reason, wasClean: code === 1000 }))
    }
  }
  return SealedWebSocketAdapter as unknown as typeof WebSocket
}
