import { DATA_CHUNK, Frames } from "../../../protocol/TunnelFrame.js"
import { sendWithCredit } from "../shared/Credit.js"
import type { TunnelOutbound } from "./TunnelOutbound.js"
import type { HttpStream } from "./TunnelStreams.js"

/** A browser's request body, sent to the daemon under the stream's credit, at the pace the tunnel's socket drains. */
export const pumpUpload = async (out: TunnelOutbound, stream: HttpStream, onAborted: () => void): Promise<void> => {
  try {
    for await (const chunk of stream.req as AsyncIterable<Buffer>) {
      await out.writable()
      const ok = await sendWithCredit(stream.up, chunk, DATA_CHUNK, (piece) => out.send(Frames.data(stream.id, piece)))
      if (!ok) return
    }
    if (stream.done) return
    out.send(Frames.data(stream.id, new Uint8Array(0), true))
    stream.uploaded?.()
  } catch {
    if (!stream.done) onAborted()
  }
}
