import { Cause, type Chunk, Effect, Exit, type Fiber, Option, Runtime } from "effect"
import { DATA_CHUNK, Frames, type ResetCode, type TunnelFrame } from "../../../protocol/TunnelFrame.js"
import { type SendCredit, sendWithCredit } from "../shared/Credit.js"

/** What sending a response needs of its tunnel stream. */
export interface BodyStream {
  readonly id: number
  readonly down: SendCredit
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  /** The pull of a streamed body that is waiting for its next chunk (interrupted on reset). */
  pulling: Fiber.RuntimeFiber<Chunk.Chunk<Uint8Array>, Option.Option<unknown>> | undefined
  responded: boolean
  done: boolean
}

/** The tunnel side of one stream's response: frames out, and how the stream ends. */
export interface BodyOut {
  readonly send: (frame: TunnelFrame) => void
  readonly finish: () => void
  readonly reset: (code: ResetCode, message: string) => void
}

const sendPieces = (out: BodyOut, stream: BodyStream, bytes: Uint8Array) =>
  sendWithCredit(stream.down, bytes, DATA_CHUNK, (piece) => out.send(Frames.data(stream.id, piece)))

const end = (out: BodyOut, stream: BodyStream) => {
  if (stream.done) return
  out.send(Frames.data(stream.id, new Uint8Array(0), true))
  out.finish()
}

/**
 * Sends `bytes` as Data frames under the stream's credit: synchronously while credit lasts,
 * waiting only when it runs out. The last piece carries `last`. False once the stream closed.
 */
const pump = (out: BodyOut, stream: BodyStream, bytes: Uint8Array, last: boolean): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    let offset = 0
    while (offset < bytes.length) {
      const granted = stream.done ? 0 : stream.down.takeNow(Math.min(DATA_CHUNK, bytes.length - offset))
      if (granted === 0) break
      offset += granted
      out.send(Frames.data(stream.id, bytes.subarray(offset - granted, offset), last && offset === bytes.length))
    }
    if (stream.done) return Effect.succeed(false)
    if (offset === bytes.length) {
      if (last && bytes.length === 0) out.send(Frames.data(stream.id, bytes, true))
      return Effect.succeed(true)
    }
    const rest = bytes.subarray(offset)
    let sent = 0
    return Effect.promise(() =>
      sendWithCredit(stream.down, rest, DATA_CHUNK, (piece) => {
        sent += piece.length
        out.send(Frames.data(stream.id, piece, last && sent === rest.length))
      })
    )
  })

/** A whole body in hand (the daemon's JSON answers): the end flag rides on the last piece. */
export const sendBytes = (
  out: BodyOut,
  stream: BodyStream,
  status: number,
  headers: Array<[string, string]>,
  body: Uint8Array
): Effect.Effect<void> => {
  stream.responded = true
  out.send(Frames.response(stream.id, { status, headers }))
  return Effect.map(pump(out, stream, body, true), (ok) => {
    if (ok && !stream.done) out.finish()
  })
}

/**
 * A streamed body (downloads, SSE), pulled chunk by chunk from the Effect stream: a web
 * ReadableStream in between cost about as much CPU as the rest of a download's way through
 * the daemon.
 */
export const pullBody = async (
  out: BodyOut,
  stream: BodyStream,
  status: number,
  headers: Array<[string, string]>,
  pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<unknown>>,
  runtime: Runtime.Runtime<never>
): Promise<void> => {
  stream.responded = true
  out.send(Frames.response(stream.id, { status, headers }))
  const next = () =>
    new Promise<Exit.Exit<Chunk.Chunk<Uint8Array>, Option.Option<unknown>>>((resolve) => {
      const fiber = Runtime.runFork(runtime)(pull)
      stream.pulling = fiber
      fiber.addObserver((exit) => {
        stream.pulling = undefined
        resolve(exit)
      })
    })
  while (!stream.done) {
    const exit = await next()
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && Option.isNone(failure.value)) break
      if (!stream.done) out.reset("internal", "the response body failed")
      return
    }
    for (const value of exit.value) {
      if (!(await sendPieces(out, stream, value))) return
    }
  }
  end(out, stream)
}

/** Any other answer, as a web Response. */
export const sendWebBody = async (out: BodyOut, stream: BodyStream, response: Response): Promise<void> => {
  const headers: Array<[string, string]> = []
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers.push([name, value])
  })
  stream.responded = true
  out.send(Frames.response(stream.id, { status: response.status, headers }))
  if (response.body === null) return end(out, stream)
  const reader = response.body.getReader()
  stream.reader = reader
  try {
    while (!stream.done) {
      const { done, value } = await reader.read()
      if (done) break
      if (!(await sendPieces(out, stream, value))) return
    }
    end(out, stream)
  } catch {
    if (!stream.done) out.reset("internal", "the response body failed")
  }
}
