/**
 * How the app reaches the daemon. Loaded by the sealed loader (through a relay that requires
 * the sealed tunnel), the page finds `repowireSealed` installed: fetch, EventSource and
 * WebSocket with the browser's own surface, carried inside the sealed channel. Loaded any other
 * way (locally, or through a plain relay), they are the browser's own.
 */

export interface SealedInfo {
  /** SHA-256 of the daemon's identity key, hex: the one `repowire relay pair` printed. */
  readonly daemonFingerprint: string
  /** SHA-256 of the loader page this browser was served, hex (undefined until known). */
  readonly loaderSha256: () => string | undefined
}

export interface SealedTransport extends SealedInfo {
  readonly fetch: typeof fetch
  readonly EventSource: typeof EventSource
  readonly WebSocket: typeof WebSocket
  /** Saves a response body as a file (an `<a download>` cannot reach through the channel). */
  readonly download: (url: string, name: string) => Promise<void>
}

/** Read at each use, not at import: the loader installs it before the app starts, tests stub the globals later. */
const sealed = () => (globalThis as { repowireSealed?: SealedTransport }).repowireSealed

export const sealedInfo = (): SealedInfo | undefined => sealed()

export const transportFetch: typeof fetch = (input, init) => (sealed()?.fetch ?? fetch)(input, init)

export const openEventSource = (url: string, init?: EventSourceInit): EventSource =>
  new (sealed()?.EventSource ?? EventSource)(url, init)

export const openWebSocket = (url: string | URL, protocols?: string | Array<string>): WebSocket =>
  new (sealed()?.WebSocket ?? WebSocket)(url, protocols)

/** Through the channel, a click on a download link fetches it sealed; otherwise the link works as is. */
export const sealedDownload = () => sealed()?.download
