import { STATUS_CODES } from "node:http"
import type { WebSocket, WebSocketServer } from "ws"
import { Frames, INITIAL_WINDOW, type ResponseHead, type TunnelFrame } from "../../../protocol/TunnelFrame.js"
import {
  droppedResponseHeaders,
  type Stream,
  type StreamHost,
  type UpgradeStream,
  validCloseCode
} from "./TunnelStreams.js"

/** Frames a WebSocket stream may hold while its browser is being accepted (bytes count against its window). */
const MAX_PENDING_FRAMES = 256

/** The relay's side of a browser WebSocket carried on a tunnel stream. */
export const browserSockets = (host: StreamHost, wss: WebSocketServer) => {
  const { budget, out } = host

  /** The daemon's answer to an upgrade: a refusal written raw, or the browser accepted (101). */
  const onUpgradeResponse = (stream: UpgradeStream, head: ResponseHead): void => {
    if (head.status !== 101) {
      stream.socket.write(
        `HTTP/1.1 ${head.status} ${STATUS_CODES[head.status] ?? ""}\r\n` +
          head.headers.filter(([k]) => !droppedResponseHeaders.has(k.toLowerCase())).map(([k, v]) => `${k}: ${v}\r\n`)
            .join("") +
          "connection: close\r\n\r\n"
      )
      return
    }
    wss.handleUpgrade(stream.req, stream.socket, stream.head, (browser) => {
      stream.browser = browser
      browser.on("message", (data: Buffer, isBinary) => forwardBrowserMessage(stream, browser, data, !isBinary))
      browser.on("close", (code, reason) => {
        if (stream.done) return
        out.send(Frames.wsClose(stream.id, validCloseCode(code) ? code : 1000, reason.toString("utf8").slice(0, 120)))
        host.forget(stream)
      })
      browser.on("error", () => undefined)
      const pending = stream.pending
      stream.pending = []
      for (const f of pending) {
        if (stream.done) return
        if (f._tag === "WsMessage") {
          budget.release(stream, Math.max(1, f.body.length))
          onWsMessage(stream, f)
        } else receiveFrameAgain(stream, f)
      }
    })
  }

  /**
   * Browser -> daemon messages spend the stream's credit like bodies do; while they wait, the
   * browser's socket is paused past a small backlog, so a flooding page cannot grow the relay.
   */
  const forwardBrowserMessage = (stream: UpgradeStream, browser: WebSocket, data: Buffer, text: boolean) => {
    if (stream.done) return
    stream.backlog += data.length
    if (stream.backlog > INITIAL_WINDOW) browser.pause()
    stream.sending = stream.sending.then(async () => {
      let need = Math.max(1, data.length)
      while (need > 0) {
        const granted = await stream.up.take(need)
        if (granted === 0) return
        need -= granted
      }
      await out.writable()
      stream.backlog -= data.length
      if (stream.backlog <= INITIAL_WINDOW) browser.resume()
      if (!stream.done) out.send(Frames.wsMessage(stream.id, data, text))
    })
  }

  const receiveFrameAgain = (stream: UpgradeStream, frame: TunnelFrame) => {
    if (frame._tag === "WsClose") onWsClose(stream, frame.code, frame.reason)
  }

  const onWsMessage = (stream: Stream, frame: Extract<TunnelFrame, { _tag: "WsMessage" }>): void => {
    if (stream.kind !== "ws") return host.resetFromRelay(stream.id, "protocol_error", "a WebSocket message on HTTP")
    // An empty message still costs one byte of credit (the daemon charges it so too).
    const cost = Math.max(1, frame.body.length)
    budget.hold(stream, cost)
    if (stream.browser === undefined) {
      // Held until the browser is accepted: the bytes spend the stream's window like delivered ones.
      if (stream.inFlight + stream.unacked > stream.window) {
        return host.overrun(stream, "window exceeded before the browser was accepted")
      }
      if (host.overBudget(stream)) return
      if (stream.pending.length >= MAX_PENDING_FRAMES) {
        return host.overrun(stream, "too many frames before the browser was accepted")
      }
      stream.pending.push(frame)
      return
    }
    if (stream.inFlight + stream.unacked > stream.window) return host.overrun(stream, "window exceeded")
    if (host.overBudget(stream)) return
    stream.browser.send(frame.body, { binary: !frame.text }, () => {
      budget.release(stream, cost)
      if (stream.done) return
      // Credited a quarter window at a time, as bodies are: one Window frame per message would
      // let a daemon sending tiny messages make the relay write as many frames back.
      stream.unacked += cost
      if (stream.unacked < stream.window / 4) return
      out.send(Frames.window(stream.id, stream.unacked))
      stream.unacked = 0
    })
  }

  const onWsClose = (stream: Stream, code: number, reason: string): void => {
    if (stream.kind !== "ws") return host.resetFromRelay(stream.id, "protocol_error", "a WebSocket close on HTTP")
    if (stream.browser === undefined) {
      if (stream.pending.length >= MAX_PENDING_FRAMES) {
        return host.overrun(stream, "too many frames before the browser was accepted")
      }
      stream.pending.push(Frames.wsClose(stream.id, code, reason))
      return
    }
    host.forget(stream)
    stream.browser.close(validCloseCode(code) ? code : 1000, reason)
  }

  return { onUpgradeResponse, onWsMessage, onWsClose }
}
