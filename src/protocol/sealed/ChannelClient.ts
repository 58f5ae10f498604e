import { ClientStream } from "./ClientStream.js"
import type { KeyPair } from "./core/Crypto.js"
import { decodeOuter, handshakeMessage, jsonMessage, Kind, type PlainResponseHead } from "./core/Frames.js"
import { readPinnedTo, startSession } from "./core/Pairing.js"
import { SealedSession } from "./core/Session.js"

/** A WebSocket as the channel needs it (the browser's, or `ws` in Node), opened already. */
export interface ChannelSocket {
  binaryType: string
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
}

export interface SealedResponse {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: ReadableStream<Uint8Array>
}

export interface SealedRequest {
  readonly method?: string
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: Uint8Array | string
}

/** A WebSocket opened inside the channel. */
export interface SealedWebSocket {
  send(data: string | Uint8Array): Promise<void>
  close(code?: number, reason?: string): void
  onmessage: ((data: string | Uint8Array) => void) | undefined
  onclose: ((code: number, reason: string) => void) | undefined
}

const bytesOf = (data: unknown): Uint8Array =>
  data instanceof Uint8Array
    ? data
    : data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : typeof data === "string"
    ? new TextEncoder().encode(data)
    : new Uint8Array(0)

/**
 * The browser's end of the sealed channel: the Noise_XX handshake pinned to the daemon's key,
 * then requests, event streams and WebSockets as sealed streams over the one socket.
 */
export class SealedChannel {
  private readonly streams = new Map<number, ClientStream>()
  private nextId = 1
  private closedWith: { code: number; reason: string } | undefined
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(
    private readonly socket: ChannelSocket,
    private readonly session: SealedSession,
    closed: Promise<{ code: number; reason: string }>
  ) {
    this.closed = closed.then((c) => {
      this.closedWith = c
      for (const stream of [...this.streams.values()]) stream.fail(new Error(`the channel closed: ${c.reason}`))
      return c
    })
    socket.onmessage = (event) => this.receive(bytesOf(event.data))
  }

  /** Runs the handshake on an open socket; fails if the daemon's key is not `daemonKey`. */
  static async open(socket: ChannelSocket, staticKey: KeyPair, daemonKey: Uint8Array): Promise<SealedChannel> {
    // A browser's sockets give Blobs unless told otherwise; Node's `ws` gives Buffers (Uint8Arrays)
    // already, and asking it for ArrayBuffers would copy every message.
    if (socket.binaryType === "blob") socket.binaryType = "arraybuffer"
    const inbox: Array<Uint8Array> = []
    let wake: (() => void) | undefined
    let closedWith: { code: number; reason: string } | undefined
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      socket.onclose = (event) => {
        closedWith = { code: event.code, reason: event.reason }
        resolve(closedWith)
        wake?.()
      }
    })
    socket.onmessage = (event) => {
      inbox.push(bytesOf(event.data))
      wake?.()
    }
    const next = async () => {
      while (inbox.length === 0 && closedWith === undefined) await new Promise<void>((r) => (wake = r))
      const outer = decodeOuter(inbox.shift() ?? new Uint8Array(0))
      if (outer?._tag !== "Handshake") {
        throw new Error(
          `the daemon refused the sealed channel (${closedWith?.code ?? "?"} ${closedWith?.reason ?? ""})`
        )
      }
      return outer.noise
    }
    const handshake = await startSession(staticKey)
    socket.send(handshakeMessage(await handshake.writeMessage(new Uint8Array(0))))
    await readPinnedTo(handshake, await next(), daemonKey)
    socket.send(handshakeMessage(await handshake.writeMessage(new Uint8Array(0))))
    // The daemon's empty handshake message says it accepted this browser's key.
    await next()
    return new SealedChannel(socket, SealedSession.fromHandshake(handshake.complete!), closed)
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined
  }

  private receive(message: Uint8Array) {
    const outer = decodeOuter(message)
    if (outer?._tag !== "Record") return this.socket.close(4400, "a malformed channel message")
    this.streams.get(outer.stream)?.receive(outer.record)
  }

  private async stream(): Promise<ClientStream> {
    if (this.closedWith !== undefined) throw new Error(`the channel closed: ${this.closedWith.reason}`)
    const id = this.nextId++
    const [sealer, opener] = await Promise.all([this.session.outgoing(id), this.session.incoming(id)])
    const stream = new ClientStream(id, sealer, opener, (m) => this.socket.send(m), (i) => this.streams.delete(i))
    this.streams.set(id, stream)
    return stream
  }

  /** One request, answered once its head arrives; the body streams under the browser's credit. */
  async fetch(path: string, init: SealedRequest = {}): Promise<SealedResponse> {
    const method = init.method ?? "GET"
    const body = init.body === undefined ? undefined : bytesOf(init.body)
    const headers = [...(init.headers ?? [])]
    if (body !== undefined) headers.push(["content-length", String(body.length)])
    const stream = await this.stream()
    stream.send(jsonMessage(Kind.Head, { method, path, headers }))
    if (body !== undefined) void stream.upload(body)
    const head: PlainResponseHead = await stream.head
    return { status: head.status, headers: head.headers, body: stream.body }
  }

  /** A WebSocket inside the channel (the dashboard's live events). */
  async websocket(path: string): Promise<SealedWebSocket> {
    const stream = await this.stream()
    stream.send(jsonMessage(Kind.Head, { method: "GET", path, headers: [], upgrade: true }))
    const head = await stream.head
    if (head.status !== 101) {
      stream.cancel()
      throw new Error(`the daemon answered ${head.status} to a WebSocket`)
    }
    const socket: SealedWebSocket = {
      send: (data) => stream.wsSend(bytesOf(data), typeof data === "string"),
      close: (code = 1000, reason = "") => stream.wsClose(code, reason),
      onmessage: undefined,
      onclose: undefined
    }
    const decoder = new TextDecoder()
    stream.events = {
      message: (data, text) => socket.onmessage?.(text ? decoder.decode(data) : data),
      close: (code, reason) => socket.onclose?.(code, reason)
    }
    return socket
  }

  close(): void {
    this.socket.close(1000, "")
  }
}
