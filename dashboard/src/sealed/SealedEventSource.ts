import { SseParser } from "./sse.js"

type Handler = ((this: EventSource, event: any) => any) | null

/**
 * `EventSource` over the sealed fetch. When its stream ends or breaks it closes for good
 * (readyState CLOSED, then `error`), as the browser's does after an error status: the
 * dashboard then reopens it from its last event id.
 */
export const makeSealedEventSource = (sealedFetch: typeof fetch): typeof EventSource => {
  class SealedEventSource extends EventTarget {
    static readonly CONNECTING = 0
    static readonly OPEN = 1
    static readonly CLOSED = 2
    readonly CONNECTING = 0
    readonly OPEN = 1
    readonly CLOSED = 2
    readyState: number = 0
    readonly url: string
    readonly withCredentials: boolean
    onopen: Handler = null
    onmessage: Handler = null
    onerror: Handler = null
    private reader: ReadableStreamDefaultReader<Uint8Array> | undefined

    constructor(url: string | URL, init?: EventSourceInit) {
      super()
      this.url = new URL(url, location.href).href
      this.withCredentials = init?.withCredentials ?? false
      void this.run()
    }

    close(): void {
      this.readyState = 2
      void this.reader?.cancel().catch(() => undefined)
    }

    private emit(event: Event) {
      this.dispatchEvent(event)
      const handler = event.type === "open"
        ? this.onopen
        : event.type === "message"
        ? this.onmessage
        : event.type === "error"
        ? this.onerror
        : null
      handler?.call(this as unknown as EventSource, event)
    }

    private async run() {
      try {
        const response = await sealedFetch(this.url, { headers: { accept: "text/event-stream" } })
        if (this.readyState === 2) return void response.body?.cancel()
        if (response.status !== 200 || response.body === null) {
          throw new Error(`the event stream answered ${response.status}`)
        }
        this.readyState = 1
        this.emit(new Event("open"))
        this.reader = response.body.getReader()
        const decoder = new TextDecoder()
        const parser = new SseParser((type, data, lastEventId) =>
          this.emit(new MessageEvent(type, { data, lastEventId, origin: location.origin }))
        )
        for (;;) {
          const { done, value } = await this.reader.read()
          if (done) break
          parser.push(decoder.decode(value, { stream: true }))
        }
      } catch {
        // ended below, as the browser's EventSource ends on a failed connection
      }
      if (this.readyState === 2) return
      this.readyState = 2
      this.emit(new Event("error"))
    }
  }
  return SealedEventSource as unknown as typeof EventSource
}
