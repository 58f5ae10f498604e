import { Either, Schema } from "effect"
import { describeParseError } from "./Issues.js"
import { parseJsonBounded } from "./JsonDepth.js"

/**
 * Relay <-> daemon tunnel frames, one per binary WebSocket message:
 *   [type u8][flags u8][stream u32 BE][length u32 BE][payload: length bytes]
 * Heads (request, response, reset, close, goaway) are JSON decoded by Schema; bodies and
 * WebSocket messages are raw bytes. Stream 0 is the connection itself (GoAway only).
 */
export const HEADER_BYTES = 10
/** Largest payload a peer may send in one frame; bigger frames are refused. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024
/** Size of the body chunks the two ends cut streams into. */
export const DATA_CHUNK = 256 * 1024
/** Per-stream, per-direction credit each side starts with. */
export const INITIAL_WINDOW = 1024 * 1024

export const FrameType = {
  Open: 1,
  Response: 2,
  Data: 3,
  Window: 4,
  Reset: 5,
  GoAway: 6,
  WsMessage: 7,
  WsClose: 8
} as const

export const Flags = { End: 1, Text: 2 } as const

const HeaderList = Schema.Array(Schema.Tuple(
  Schema.String.pipe(Schema.pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/)),
  Schema.String.pipe(Schema.maxLength(16 * 1024), Schema.pattern(/^[^\r\n\0]*$/))
)).pipe(Schema.maxItems(256))
export type HeaderList = typeof HeaderList.Type

const StreamId = Schema.Int.pipe(Schema.between(1, 0xffffffff))

export const RequestHead = Schema.Struct({
  method: Schema.String.pipe(Schema.pattern(/^[A-Z]{1,16}$/)),
  path: Schema.String.pipe(Schema.startsWith("/"), Schema.maxLength(8192), Schema.pattern(/^[^\s#]*$/)),
  headers: HeaderList,
  upgrade: Schema.Boolean
})
export type RequestHead = typeof RequestHead.Type

export const ResponseHead = Schema.Struct({
  status: Schema.Int.pipe(Schema.between(101, 599)),
  headers: HeaderList
})
export type ResponseHead = typeof ResponseHead.Type

export const ResetCode = Schema.Literal(
  "cancelled",
  "refused",
  "protocol_error",
  "flow_control",
  "frame_too_large",
  "internal",
  "unavailable"
)
export type ResetCode = typeof ResetCode.Type

const Bytes = Schema.Uint8ArrayFromSelf

export const OpenFrame = Schema.TaggedStruct("Open", { stream: StreamId, head: RequestHead })
export const ResponseFrame = Schema.TaggedStruct("Response", { stream: StreamId, head: ResponseHead })
export const DataFrame = Schema.TaggedStruct("Data", { stream: StreamId, end: Schema.Boolean, body: Bytes })
export const WindowFrame = Schema.TaggedStruct("Window", {
  stream: StreamId,
  increment: Schema.Int.pipe(Schema.between(1, 0x7fffffff))
})
export const ResetFrame = Schema.TaggedStruct("Reset", {
  stream: StreamId,
  code: ResetCode,
  message: Schema.String.pipe(Schema.maxLength(1024))
})
export const GoAwayFrame = Schema.TaggedStruct("GoAway", {
  stream: Schema.Literal(0),
  reason: Schema.String.pipe(Schema.maxLength(1024))
})
export const WsMessageFrame = Schema.TaggedStruct("WsMessage", { stream: StreamId, text: Schema.Boolean, body: Bytes })
export const WsCloseFrame = Schema.TaggedStruct("WsClose", {
  stream: StreamId,
  code: Schema.Int.pipe(Schema.between(1000, 4999)),
  reason: Schema.String.pipe(Schema.maxLength(123))
})

export const TunnelFrame = Schema.Union(
  OpenFrame,
  ResponseFrame,
  DataFrame,
  WindowFrame,
  ResetFrame,
  GoAwayFrame,
  WsMessageFrame,
  WsCloseFrame
)
export type TunnelFrame = typeof TunnelFrame.Type

export const FrameErrorCode = Schema.Literal(
  "truncated",
  "length_mismatch",
  "too_large",
  "unknown_type",
  "bad_stream",
  "bad_head",
  "bad_flags"
)

/** A frame that could not be decoded. `stream` is set when the header named one: reset that stream only. */
export class TunnelFrameError extends Schema.TaggedError<TunnelFrameError>()("TunnelFrameError", {
  code: FrameErrorCode,
  stream: Schema.NullOr(Schema.Int),
  message: Schema.String
}) {}

const textDecoder = new TextDecoder("utf-8", { fatal: true })
const textEncoder = new TextEncoder()

interface RawFrame {
  readonly type: number
  readonly flags: number
  readonly stream: number
  readonly payload: Uint8Array
}

const json = (payload: Uint8Array): unknown => {
  const parsed = parseJsonBounded(textDecoder.decode(payload))
  if (!parsed.ok) throw new SyntaxError(parsed.reason)
  return parsed.value
}

const asObject = (u: unknown): object => (typeof u === "object" && u !== null && !Array.isArray(u) ? u : {})

const toUntyped = (raw: RawFrame): unknown => {
  const { flags, payload, stream, type } = raw
  switch (type) {
    case FrameType.Open:
      return { _tag: "Open", stream, head: json(payload) }
    case FrameType.Response:
      return { _tag: "Response", stream, head: json(payload) }
    case FrameType.Data:
      return { _tag: "Data", stream, end: (flags & Flags.End) !== 0, body: payload }
    case FrameType.Window:
      return payload.length === 4
        ? { _tag: "Window", stream, increment: new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) }
        : { _tag: "Window", stream, increment: -1 }
    case FrameType.Reset:
      return { ...asObject(json(payload)), _tag: "Reset", stream }
    case FrameType.GoAway:
      return { ...asObject(json(payload)), _tag: "GoAway", stream }
    case FrameType.WsMessage:
      return { _tag: "WsMessage", stream, text: (flags & Flags.Text) !== 0, body: payload }
    default:
      return { ...asObject(json(payload)), _tag: "WsClose", stream }
  }
}

const decodeTyped = Schema.decodeUnknownEither(TunnelFrame)

const frameError = (code: typeof FrameErrorCode.Type, stream: number, message: string) =>
  Either.left(new TunnelFrameError({ code, stream: stream === 0 ? null : stream, message }))

/**
 * Decodes one WebSocket message: the binary header by hand, the rest through the TunnelFrame
 * Schema. Every byte sequence yields a frame or a TunnelFrameError, never a throw; the error
 * names the stream when the header had one, so only that stream is reset.
 */
export const decodeFrame = (bytes: Uint8Array): Either.Either<TunnelFrame, TunnelFrameError> => {
  if (bytes.length < HEADER_BYTES) return frameError("truncated", 0, "shorter than the frame header")
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = view.getUint8(0)
  const flags = view.getUint8(1)
  const stream = view.getUint32(2)
  const length = view.getUint32(6)
  if (length > MAX_FRAME_PAYLOAD) return frameError("too_large", stream, `payload of ${length} bytes exceeds the limit`)
  if (length !== bytes.length - HEADER_BYTES) return frameError("length_mismatch", stream, "header length differs")
  if (type < FrameType.Open || type > FrameType.WsClose) return frameError("unknown_type", stream, `frame type ${type}`)
  const allowed = type === FrameType.Data ? Flags.End : type === FrameType.WsMessage ? Flags.Text : 0
  if ((flags & ~allowed) !== 0) return frameError("bad_flags", stream, `flags ${flags} on frame type ${type}`)
  if ((type === FrameType.GoAway) !== (stream === 0)) {
    return frameError("bad_stream", stream, type === FrameType.GoAway ? "goaway on a stream" : "stream id 0")
  }
  let untyped: unknown
  try {
    untyped = toUntyped({ type, flags, stream, payload: bytes.subarray(HEADER_BYTES) })
  } catch (e) {
    return frameError("bad_head", stream, `head is not UTF-8 JSON within bounds: ${(e as Error).message}`)
  }
  const typed = decodeTyped(untyped)
  return Either.isRight(typed)
    ? Either.right(typed.right)
    : frameError("bad_head", stream, describeParseError(typed.left))
}

const header = (type: number, flags: number, stream: number, length: number) => {
  const out = new Uint8Array(HEADER_BYTES + length)
  const view = new DataView(out.buffer)
  view.setUint8(0, type)
  view.setUint8(1, flags)
  view.setUint32(2, stream)
  view.setUint32(6, length)
  return out
}

const withPayload = (type: number, flags: number, stream: number, payload: Uint8Array) => {
  const out = header(type, flags, stream, payload.length)
  out.set(payload, HEADER_BYTES)
  return out
}

const jsonFrame = (type: number, stream: number, value: unknown) =>
  withPayload(type, 0, stream, textEncoder.encode(JSON.stringify(value)))

/** The 10 bytes that precede a Data frame's body, for senders that write the body separately. */
export const dataFrameHead = (stream: number, length: number, end: boolean): Uint8Array => {
  const out = header(FrameType.Data, end ? Flags.End : 0, stream, 0)
  new DataView(out.buffer).setUint32(6, length)
  return out
}

export const encodeFrame = (frame: TunnelFrame): Uint8Array => {
  switch (frame._tag) {
    case "Open":
      return jsonFrame(FrameType.Open, frame.stream, frame.head)
    case "Response":
      return jsonFrame(FrameType.Response, frame.stream, frame.head)
    case "Data":
      return withPayload(FrameType.Data, frame.end ? Flags.End : 0, frame.stream, frame.body)
    case "Window": {
      const out = header(FrameType.Window, 0, frame.stream, 4)
      new DataView(out.buffer).setUint32(HEADER_BYTES, frame.increment)
      return out
    }
    case "Reset":
      return jsonFrame(FrameType.Reset, frame.stream, { code: frame.code, message: frame.message })
    case "GoAway":
      return jsonFrame(FrameType.GoAway, 0, { reason: frame.reason })
    case "WsMessage":
      return withPayload(FrameType.WsMessage, frame.text ? Flags.Text : 0, frame.stream, frame.body)
    case "WsClose":
      return jsonFrame(FrameType.WsClose, frame.stream, { code: frame.code, reason: frame.reason })
  }
}

export const Frames = {
  open: (stream: number, head: RequestHead): TunnelFrame => ({ _tag: "Open", stream, head }),
  response: (stream: number, head: ResponseHead): TunnelFrame => ({ _tag: "Response", stream, head }),
  data: (stream: number, body: Uint8Array, end = false): TunnelFrame => ({ _tag: "Data", stream, end, body }),
  window: (stream: number, increment: number): TunnelFrame => ({ _tag: "Window", stream, increment }),
  reset: (stream: number, code: ResetCode, message: string): TunnelFrame => ({ _tag: "Reset", stream, code, message }),
  goAway: (reason: string): TunnelFrame => ({ _tag: "GoAway", stream: 0, reason }),
  wsMessage: (stream: number, body: Uint8Array, text: boolean): TunnelFrame => ({
    _tag: "WsMessage",
    stream,
    text,
    body
  }),
  wsClose: (stream: number, code: number, reason: string): TunnelFrame => ({ _tag: "WsClose", stream, code, reason })
} as const
