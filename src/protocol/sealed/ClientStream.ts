import { concat } from "./Bytes.js"
import {
  DATA_MAX,
  decodeResponseHead,
  GRANT_AT,
  inner,
  Kind,
  type PlainResponseHead as ResponseHead,
  readU32,
  readWsClose,
  readWsMessage,
  recordMessage,
  splitInner,
  STREAM_WINDOW,
  u32,
  wsClose,
  wsPieces
} from "./core/Frames.js"
import type { RecordOpener, RecordSealer } from "./core/Records.js"

/** Bytes the peer has said it can take; a sender waits for more. */
class Credit {
  private waiters: Array<() => void> = []
  closed = false
  constructor(private available: number) {}
  add(n: number) {
    this.available += n
    this.waiters.splice(0).forEach((w) => w())
  }
  close() {
    this.closed = true
    this.waiters.splice(0).forEach((w) => w())
  }
  async take(want: number): Promise<number> {
    while (this.available <= 0 && !this.closed) await new Promise<void>((r) => this.waiters.push(r))
    if (this.closed) return 0
    const granted = Math.min(want, this.available)
    this.available -= granted
    return granted
  }
}

export interface StreamEvents {
  readonly message?: (data: Uint8Array, text: boolean) => void
  readonly close?: (code: number, reason: string) => void
}

/**
 * The browser's end of one sealed stream: its records sealed and opened in order, the
 * response head, a body read under the browser's credit, or a WebSocket's messages.
 */
export class ClientStream {
  readonly head: Promise<ResponseHead>
  readonly body: ReadableStream<Uint8Array>
  private resolveHead!: (head: ResponseHead) => void
  private rejectHead!: (error: Error) => void
  private chunks: Array<Uint8Array> = []
  private wake: (() => void) | undefined
  private failure: Error | undefined
  private ended = false
  private sentEnd = false
  private outChain: Promise<void> = Promise.resolve()
  private inChain: Promise<void> = Promise.resolve()
  private wsPending: Array<Uint8Array> = []
  readonly credit = new Credit(STREAM_WINDOW)
  events: StreamEvents = {}

  constructor(
    readonly id: number,
    private readonly sealer: RecordSealer,
    private readonly opener: RecordOpener,
    private readonly write: (message: Uint8Array) => void,
    private readonly forget: (id: number) => void
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve
      this.rejectHead = reject
    })
    this.head.catch(() => undefined)
    this.body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (this.chunks.length === 0 && !this.ended && this.failure === undefined) {
          await new Promise<void>((r) => (this.wake = r))
        }
        const chunk = this.chunks.shift()
        if (chunk !== undefined) {
          controller.enqueue(chunk)
          this.grant(chunk.length)
        } else if (this.failure !== undefined) controller.error(this.failure)
        else controller.close()
      },
      cancel: () => this.cancel()
    }, { highWaterMark: 0 })
  }

  private owed = 0

  /** Credit back to the daemon for what was read, a quarter window at a time. */
  private grant(n: number) {
    this.owed += n
    if (this.owed < GRANT_AT || this.ended) return
    this.send(inner(Kind.Window, u32(this.owed)))
    this.owed = 0
  }

  /** Seals one message now (its counter is taken at once) and writes it after those before it. */
  send(message: Uint8Array): void {
    if (this.sentEnd) return
    const sealing = this.sealer.seal(message)
    // Handled where the chain awaits it; this only keeps an early failure from counting as unhandled.
    sealing.catch(() => undefined)
    this.outChain = this.outChain.then(async () => this.write(recordMessage(this.id, await sealing)))
      .catch((e) => this.fail(e as Error))
  }

  private sendEnd(): void {
    if (this.sentEnd) return
    const sealing = this.sealer.end()
    sealing.catch(() => undefined)
    this.outChain = this.outChain.then(async () => this.write(recordMessage(this.id, await sealing)))
      .catch(() => undefined)
    this.sentEnd = true
  }

  /** A request body: pieces under the daemon's credit, then BodyEnd. */
  async upload(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const granted = await this.credit.take(Math.min(DATA_MAX, bytes.length - at))
      if (granted === 0) return
      this.send(inner(Kind.Data, bytes.subarray(at, at + granted)))
      at += granted
    }
    this.send(inner(Kind.BodyEnd))
  }

  async wsSend(data: Uint8Array, text: boolean): Promise<void> {
    if ((await this.credit.take(Math.max(1, data.length))) === 0) return
    for (const piece of wsPieces(data, text)) this.send(piece)
  }

  wsClose(code: number, reason: string): void {
    this.send(wsClose(code, reason))
    this.cancel()
  }

  /** The browser wants nothing more on this stream. */
  cancel(): void {
    this.send(inner(Kind.Cancel))
    this.sendEnd()
    this.fail(new Error("the stream was cancelled"))
  }

  /**
   * Records of the daemon's (one or more, back to back): their decryption starts now, beside
   * that of earlier messages; what they carry is handled after those before them.
   */
  receive(records: Uint8Array): void {
    if (this.failure !== undefined || this.ended) return
    const opening = this.opener.feed(records)
    opening.catch(() => undefined)
    this.inChain = this.inChain.then(async () => {
      let opened: ReadonlyArray<Uint8Array>
      try {
        opened = await opening
      } catch (e) {
        if (this.failure !== undefined || this.ended) return
        return this.fail(new Error((e as Error).message))
      }
      if (this.failure !== undefined || this.ended) return
      for (const plaintext of opened) this.dispatch(plaintext)
      if (!this.opener.complete) return
      // The daemon's end record: the response is whole, and the daemon has forgotten the stream.
      this.ended = true
      this.sentEnd = true
      this.wake?.()
      this.credit.close()
      this.forget(this.id)
      this.rejectHead(new Error("the stream ended before its response"))
    })
  }

  private dispatch(plaintext: Uint8Array) {
    const { body, kind } = splitInner(plaintext)
    switch (kind) {
      case Kind.Head: {
        const head = decodeResponseHead(body)
        return head === undefined ? this.fail(new Error("a malformed response head")) : this.resolveHead(head)
      }
      case Kind.Data:
        this.chunks.push(body)
        return this.wake?.()
      case Kind.Window:
        return this.credit.add(readU32(body) ?? 0)
      case Kind.WsMessage: {
        const piece = readWsMessage(body)
        this.wsPending.push(piece.data)
        if (piece.more) return
        const whole = concat(...this.wsPending)
        this.wsPending = []
        this.events.message?.(whole, piece.text)
        return this.send(inner(Kind.Window, u32(Math.max(1, whole.length))))
      }
      case Kind.WsClose: {
        const { code, reason } = readWsClose(body)
        return this.events.close?.(code, reason)
      }
      case Kind.Reset:
        return this.fail(new Error(`the daemon reset the stream: ${new TextDecoder().decode(body)}`))
      default:
        return this.fail(new Error("an unknown message kind"))
    }
  }

  /** The stream broke (or the channel closed): every reader sees why. */
  fail(error: Error): void {
    if (this.failure !== undefined || this.ended) return
    this.failure = error
    this.credit.close()
    this.rejectHead(error)
    this.wake?.()
    this.events.close?.(1006, error.message)
    this.forget(this.id)
  }
}
