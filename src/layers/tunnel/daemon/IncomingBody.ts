import { INITIAL_WINDOW } from "../../../protocol/TunnelFrame.js"

/** Request body arriving from the relay, handed to the app as a pull-based ReadableStream. */
export class IncomingBody {
  private readonly chunks: Array<Uint8Array> = []
  private ended = false
  private failed: Error | undefined
  private wake: (() => void) | undefined
  /** Bytes received but not yet taken by the app: the relay may not exceed the window. */
  outstanding = 0

  constructor(private readonly grant: (n: number) => void) {}

  push(chunk: Uint8Array, end: boolean): boolean {
    if (chunk.length > 0) {
      this.outstanding += chunk.length
      this.chunks.push(chunk)
    }
    if (end) this.ended = true
    this.wake?.()
    return this.outstanding <= INITIAL_WINDOW
  }

  fail(error: Error): void {
    this.failed = error
    this.wake?.()
  }

  private web: ReadableStream<Uint8Array> | undefined

  /** Made on first use: GETs, most of the traffic, never read a body. */
  get stream(): ReadableStream<Uint8Array> {
    return this.web ??= this.makeStream()
  }

  private makeStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (this.chunks.length === 0 && !this.ended && this.failed === undefined) {
          await new Promise<void>((resolve) => (this.wake = resolve))
          this.wake = undefined
        }
        if (this.failed !== undefined) return controller.error(this.failed)
        const chunk = this.chunks.shift()
        if (chunk !== undefined) {
          this.outstanding -= chunk.length
          controller.enqueue(chunk)
          this.grant(chunk.length)
        } else if (this.ended) {
          controller.close()
        }
      }
    }, { highWaterMark: 0 })
  }
}
