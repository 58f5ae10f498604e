import { Frames, type ResponseHead } from "../../../protocol/TunnelFrame.js"
import { declaredBodyLength } from "./ResponseFraming.js"
import { droppedResponseHeaders, type Stream, type StreamHost, type UpgradeStream } from "./TunnelStreams.js"

/**
 * The daemon's answers on a stream, passed on to the browser: the response head, then body
 * bytes under the stream's window, credited back as the browser takes them.
 */
export const daemonAnswers = (
  host: StreamHost,
  onUpgradeResponse: (stream: UpgradeStream, head: ResponseHead) => void
) => {
  const { budget, out } = host

  const onResponse = (stream: Stream, head: ResponseHead): void => {
    if (stream.responded) return host.resetFromRelay(stream.id, "protocol_error", "a second response head")
    stream.responded = true
    clearTimeout(stream.headTimer)
    const headers = head.headers.filter(([k]) => !droppedResponseHeaders.has(k.toLowerCase())).flat()
    if (stream.kind === "http") {
      const length = declaredBodyLength(head.status, head.headers)
      if (length === "invalid") {
        return host.resetFromRelay(stream.id, "protocol_error", "a response head with bad framing")
      }
      stream.remaining = length
      try {
        stream.res.writeHead(head.status, headers)
      } catch {
        return host.resetFromRelay(stream.id, "protocol_error", "a response header Node refuses to send")
      }
      // The head leaves with the first body bytes when they came in the same read (most
      // answers); otherwise (SSE, a slow body) on its own right after, so nothing waits on it.
      setImmediate(() => {
        // headersSent is already true after writeHead; flushing once more when the body went out costs an empty write.
        if (!stream.res.writableEnded && !stream.res.destroyed) stream.res.flushHeaders()
      })
      return
    }
    onUpgradeResponse(stream, head)
  }

  const onData = (stream: Stream, body: Uint8Array, end: boolean): void => {
    if (!stream.responded) return host.resetFromRelay(stream.id, "protocol_error", "body before the response head")
    budget.hold(stream, body.length)
    if (stream.inFlight + stream.unacked > stream.window) return host.overrun(stream, "window exceeded")
    if (host.overBudget(stream)) return
    if (stream.kind === "http" && stream.remaining !== undefined) {
      // The declared length is the framing the browser reads by: never a byte past it, never short of it.
      if (body.length > stream.remaining) {
        return host.resetFromRelay(stream.id, "protocol_error", "body longer than its Content-Length")
      }
      stream.remaining -= body.length
      if (end && stream.remaining > 0) {
        return host.resetFromRelay(stream.id, "protocol_error", "body shorter than its Content-Length")
      }
    }
    const sink = stream.kind === "http" ? stream.res : stream.socket
    const ack = () => {
      budget.release(stream, body.length)
      if (stream.done || body.length === 0) return
      // Credit goes back a quarter window at a time, not per frame: a download then costs
      // a few Window frames per MiB instead of one per chunk, and the daemon still always
      // has at least three quarters of its window to send into.
      stream.unacked += body.length
      if (stream.unacked < stream.window / 4) return
      const increment = stream.unacked + budget.grow(stream, sink.writableLength)
      stream.unacked = 0
      out.send(Frames.window(stream.id, increment))
    }
    if (body.length > 0) sink.write(body, ack)
    if (end) {
      host.forget(stream)
      sink.end()
    }
  }

  return { onResponse, onData }
}
