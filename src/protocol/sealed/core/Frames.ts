import { concat } from "../Bytes.js"
import { MAX_RECORD_PLAINTEXT } from "./Records.js"

/**
 * The sealed channel: one WebSocket through the relay, browser to daemon, that carries every
 * dashboard request as sealed streams (SPEC §9). The relay sees only its messages' sizes and times.
 *
 * Each WebSocket message (binary):
 *
 *   0x00 <noise message>                 the Noise_XX session handshake, three messages, browser first,
 *                                        then an empty one from the daemon: this browser's key is accepted
 *   0x01 <stream u32> <sealed records>   one or more records of one stream, back to back, in the
 *                                        sender's direction (each record carries its length)
 *
 * A stream is one request (or event stream, or WebSocket): the browser picks its id, each
 * higher than the last; the daemon drops records for a stream it has already ended. Each record's plaintext is one message: a kind byte, then its body.
 * Browser to daemon: Head (JSON), Data, BodyEnd, Window, WsMessage, WsClose, Cancel.
 * Daemon to browser: Head (JSON), Data, Window, WsMessage, WsClose, Reset. The daemon's end
 * record ends the response (a stream cut before it was truncated); the browser's end record
 * says it wants nothing more on the stream.
 */

export const HANDSHAKE = 0x00
export const RECORD = 0x01

export const Kind = {
  Head: 1,
  Data: 2,
  BodyEnd: 3,
  Window: 4,
  WsMessage: 5,
  WsClose: 6,
  Cancel: 7,
  Reset: 8
} as const
export type Kind = typeof Kind[keyof typeof Kind]

/** Body bytes one Data message carries: a record's plaintext less the kind byte. */
export const DATA_MAX = MAX_RECORD_PLAINTEXT - 1
/** Bytes one side may send on a stream before the other grants more. */
export const STREAM_WINDOW = 512 * 1024
/** Records sealed into one channel message at most: about 768 KiB, under the tunnel's 1 MiB frames. */
export const MAX_BATCH = 12
/** The browser grants credit back once it has read this much (one Window message, not one per record). */
export const GRANT_AT = STREAM_WINDOW / 4
/** Streams one channel may hold open at once; more close the channel. */
export const MAX_STREAMS = 64
/** Close codes the daemon ends a channel with. */
export const CLOSE_NOT_PAIRED = 4403
export const CLOSE_REVOKED = 4401
export const CLOSE_BROKEN = 4400

export const handshakeMessage = (noise: Uint8Array) => concat(Uint8Array.of(HANDSHAKE), noise)

export const recordMessage = (stream: number, record: Uint8Array) => {
  const out = new Uint8Array(5 + record.length)
  out[0] = RECORD
  new DataView(out.buffer).setUint32(1, stream, false)
  out.set(record, 5)
  return out
}

export type Outer =
  | { readonly _tag: "Handshake"; readonly noise: Uint8Array }
  | { readonly _tag: "Record"; readonly stream: number; readonly record: Uint8Array }

export const decodeOuter = (message: Uint8Array): Outer | undefined => {
  if (message.length === 0) return undefined
  if (message[0] === HANDSHAKE) return { _tag: "Handshake", noise: message.subarray(1) }
  if (message[0] !== RECORD || message.length < 5) return undefined
  const stream = new DataView(message.buffer, message.byteOffset, 5).getUint32(1, false)
  return { _tag: "Record", stream, record: message.subarray(5) }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const inner = (kind: Kind, body: Uint8Array = new Uint8Array(0)) => {
  const out = new Uint8Array(1 + body.length)
  out[0] = kind
  out.set(body, 1)
  return out
}

export const jsonMessage = (kind: Kind, value: unknown) => inner(kind, encoder.encode(JSON.stringify(value)))

export const u32 = (n: number) => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n, false)
  return out
}

export const readU32 = (body: Uint8Array) =>
  body.length === 4 ? new DataView(body.buffer, body.byteOffset, 4).getUint32(0, false) : undefined

/** Flags of a WsMessage: bit 0 text, bit 1 more pieces of the same message follow. */
export const wsMessage = (data: Uint8Array, text: boolean, more = false) =>
  inner(Kind.WsMessage, concat(Uint8Array.of((text ? 1 : 0) | (more ? 2 : 0)), data))

/** A WebSocket message as the WsMessage pieces that carry it. */
export const wsPieces = (data: Uint8Array, text: boolean): Array<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  const max = DATA_MAX - 1
  for (let at = 0; at < data.length || pieces.length === 0; at += max) {
    pieces.push(wsMessage(data.subarray(at, at + max), text, at + max < data.length))
  }
  return pieces
}

export const readWsMessage = (body: Uint8Array) => ({
  text: ((body[0] ?? 0) & 1) === 1,
  more: ((body[0] ?? 0) & 2) === 2,
  data: body.subarray(1)
})

export const wsClose = (code: number, reason: string) => {
  const body = new Uint8Array(2 + Math.min(120, reason.length * 3))
  new DataView(body.buffer).setUint16(0, code, false)
  const written = encoder.encodeInto(reason.slice(0, 120), body.subarray(2)).written
  return inner(Kind.WsClose, body.subarray(0, 2 + written))
}

export const readWsClose = (body: Uint8Array) => ({
  code: body.length >= 2 ? new DataView(body.buffer, body.byteOffset, 2).getUint16(0, false) : 1005,
  reason: decoder.decode(body.subarray(2))
})

/** A message's kind and body. */
export const splitInner = (plaintext: Uint8Array) => ({ kind: plaintext[0] ?? 0, body: plaintext.subarray(1) })

/** What a response's Head carries (daemon to browser); ../Channel.ts has its Schema. */
export interface PlainResponseHead {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
}

const isHeader = (h: unknown): h is readonly [string, string] =>
  Array.isArray(h) && h.length === 2 && typeof h[0] === "string" && typeof h[1] === "string"

/**
 * A response Head as the browser reads it, without effect/Schema: what the ResponseHead Schema
 * accepts (an integer status 100–599, headers as [name, value] pairs; other fields dropped), or
 * undefined. test/sealed/CoreEquivalence.test.ts holds it to the Schema.
 */
export const decodeResponseHead = (body: Uint8Array): PlainResponseHead | undefined => {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(body))
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const { headers, status } = value as Record<string, unknown>
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) return undefined
  if (!Array.isArray(headers) || !headers.every(isHeader)) return undefined
  return { status, headers: headers.map(([name, v]) => [name, v] as const) }
}
