import { Option, Schema } from "effect"

/**
 * The sealed channel's messages (the wire is described in ./core/Frames.ts, which the browser
 * bundles without effect), and the Schemas of the two Heads. The browser reads a response Head
 * with core/Frames.ts's plain decoder, which test/sealed/CoreEquivalence.test.ts holds to this Schema.
 */

export {
  CLOSE_BROKEN,
  CLOSE_NOT_PAIRED,
  CLOSE_REVOKED,
  DATA_MAX,
  decodeOuter,
  GRANT_AT,
  HANDSHAKE,
  handshakeMessage,
  inner,
  jsonMessage,
  Kind,
  MAX_BATCH,
  MAX_STREAMS,
  type Outer,
  readU32,
  readWsClose,
  readWsMessage,
  RECORD,
  recordMessage,
  splitInner,
  STREAM_WINDOW,
  u32,
  wsClose,
  wsMessage,
  wsPieces
} from "./core/Frames.js"

const Headers = Schema.Array(Schema.Tuple(Schema.String, Schema.String))

/** What a request's Head carries (browser to daemon); `upgrade` asks for a WebSocket. */
export const RequestHead = Schema.Struct({
  method: Schema.String.pipe(Schema.pattern(/^[A-Z]{1,16}$/)),
  path: Schema.String.pipe(Schema.startsWith("/"), Schema.maxLength(8192), Schema.pattern(/^[^\s#]*$/)),
  headers: Headers,
  upgrade: Schema.optional(Schema.Boolean)
})
export type RequestHead = typeof RequestHead.Type

/** What a response's Head carries (daemon to browser). */
export const ResponseHead = Schema.Struct({ status: Schema.Int.pipe(Schema.between(100, 599)), headers: Headers })
export type ResponseHead = typeof ResponseHead.Type

const decoder = new TextDecoder()

const decodeHead = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownOption(Schema.parseJson(schema))
  return (body: Uint8Array): A | undefined => Option.getOrUndefined(decode(decoder.decode(body)))
}

export const decodeRequestHead = decodeHead(RequestHead)
export const decodeResponseHead = decodeHead(ResponseHead)
