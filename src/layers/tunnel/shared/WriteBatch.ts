import type { Duplex } from "node:stream"

/** Frames this big fill TLS records on their own; batching them would only copy more at once. */
const SMALL_FRAME = 16 * 1024

/**
 * Small frames sent in one tick (a response head and its body, a request's open and end,
 * credit updates) leave in one write of the tunnel's socket: one TLS record run and one
 * syscall instead of one each. Call the returned function with the frame's size before each
 * send; the socket is uncorked on the next tick.
 */
export const writeBatcher = (socket: Duplex): (size: number) => void => {
  let corked = false
  const flush = () => {
    corked = false
    socket.uncork()
  }
  return (size) => {
    if (corked || size >= SMALL_FRAME || socket.destroyed) return
    corked = true
    socket.cork()
    process.nextTick(flush)
  }
}
