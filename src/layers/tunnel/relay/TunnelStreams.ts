import type { IncomingMessage, ServerResponse } from "node:http"
import { STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import type { WebSocket } from "ws"
import { type AnyWireError, wireErrorOf } from "../../../protocol/Errors.js"
import { INITIAL_WINDOW, type ResetCode, type TunnelFrame } from "../../../protocol/TunnelFrame.js"
import { SendCredit } from "../shared/Credit.js"
import type { TunnelBudget } from "./TunnelBudget.js"
import type { TunnelOutbound } from "./TunnelOutbound.js"

/** The relay's view of one tunnel stream: a browser request, or a browser WebSocket. */
export interface BaseStream {
  readonly id: number
  readonly up: SendCredit
  /** Bytes the daemon sent that the browser has not yet taken (its window in use). */
  inFlight: number
  /** The daemon may have this many bytes in flight on the stream (grows for fast readers). */
  window: number
  /** Bytes the browser took that the daemon has not been credited for yet (sent in batches). */
  unacked: number
  responded: boolean
  done: boolean
  /** Answers 504 when the daemon's response head is late; cleared when it arrives. */
  headTimer: ReturnType<typeof setTimeout> | undefined
}
export interface HttpStream extends BaseStream {
  readonly kind: "http"
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** Body bytes the daemon's head declared and has not sent yet; undefined when not declared. */
  remaining: number | undefined
  /** Called once the request body has all gone to the daemon. */
  uploaded?: () => void
}
export interface UpgradeStream extends BaseStream {
  readonly kind: "ws"
  readonly req: IncomingMessage
  readonly socket: Duplex
  readonly head: Buffer
  browser: WebSocket | undefined
  pending: Array<TunnelFrame>
  backlog: number
  sending: Promise<void>
}
export type Stream = HttpStream | UpgradeStream

/** What every stream starts with: its id and a full window each way. */
const fresh = (id: number) => ({
  id,
  up: new SendCredit(INITIAL_WINDOW),
  inFlight: 0,
  window: INITIAL_WINDOW,
  unacked: 0,
  responded: false,
  done: false,
  headTimer: undefined
})

export const newHttpStream = (id: number, req: IncomingMessage, res: ServerResponse): HttpStream => ({
  kind: "http",
  ...fresh(id),
  req,
  res,
  remaining: undefined
})

export const newUpgradeStream = (id: number, req: IncomingMessage, socket: Duplex, head: Buffer): UpgradeStream => ({
  kind: "ws",
  ...fresh(id),
  req,
  socket,
  head,
  browser: undefined,
  pending: [],
  backlog: 0,
  sending: Promise.resolve()
})

/** What a stream's handlers need from the tunnel that carries it. */
export interface StreamHost {
  readonly out: TunnelOutbound
  readonly budget: TunnelBudget
  /** True when `stream` itself was reset to keep the tunnel within its buffer budget. */
  readonly overBudget: (stream: Stream) => boolean
  readonly overrun: (stream: Stream, message: string) => void
  readonly resetFromRelay: (id: number, code: ResetCode, message: string) => void
  readonly forget: (stream: Stream) => void
}

export const droppedResponseHeaders = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "set-cookie",
  "upgrade"
])

export const validCloseCode = (code: number) =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

const rawWrite = (socket: Duplex, status: number, value: unknown): void => {
  const body = JSON.stringify(value)
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

/** A typed error of `src/protocol/Errors.ts` written straight on a socket (a refused upgrade or connection). */
export const rawError = (socket: Duplex, error: AnyWireError): void => {
  const wire = wireErrorOf(error)!
  rawWrite(socket, wire.status, wire.body)
}
