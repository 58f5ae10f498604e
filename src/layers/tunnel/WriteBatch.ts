import type { Duplex } from "node:stream"

/**
 * Frames sent in one tick (a response head and its body, a request's open and end) leave in
 * one write of the tunnel's socket: one TLS record run and one syscall instead of one each.
 * Call the returned function before each send; the socket is uncorked on the next tick.
 */
export const writeBatcher = (socket: Duplex): () => void => {
  let corked = false
  const flush = () => {
    corked = false
    socket.uncork()
  }
  return () => {
    if (corked || socket.destroyed) return
    corked = true
    socket.cork()
    process.nextTick(flush)
  }
}
