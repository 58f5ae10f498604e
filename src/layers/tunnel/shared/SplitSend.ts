import type { Duplex } from "node:stream"

/** Bodies at least this big are worth sending without the copy that joins them to their head. */
export const SPLIT_MIN = 16 * 1024

/**
 * Writes one binary WebSocket message made of `head` followed by `body` straight onto the
 * client's socket, as two writes: the frame header with `head`, then `body` as it is. Going
 * through `ws` would cost two copies of every body byte (joining it to its head, then the
 * TLS layer joining the frame header to it); this costs none.
 *
 * Only for a client on wss: the frame carries the all-zero masking key, which `ws` itself uses
 * there (see the Dialer), so the body needs no masking. Safe next to `ws`'s own sends because,
 * without permessage-deflate, `ws` writes each frame to the socket whole and at once.
 */
export const sendSplit = (socket: Duplex, head: Uint8Array, body: Uint8Array): void => {
  const length = head.length + body.length
  const extended = length < 65536 ? 2 : 8
  const out = Buffer.allocUnsafe(2 + extended + 4 + head.length)
  out[0] = 0x82 // FIN, binary
  if (extended === 2) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(length, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    out.writeUInt32BE(length >>> 0, 6)
  }
  out.fill(0, 2 + extended, 2 + extended + 4)
  out.set(head, 2 + extended + 4)
  socket.write(out)
  socket.write(body)
}
