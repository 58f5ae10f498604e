import { Effect, Stream } from "effect"
import type { DeliveryFrame } from "../../protocol/AgentFrame.js"
import type { AttachmentNotFound } from "../../protocol/Errors.js"
import { FILE_PART_BYTES, type RemotePeer } from "../../protocol/MeshWire.js"
import type { Attachments } from "../../services/Attachments.js"
import type { SealedPipe } from "./SealedPipe.js"

/** Parts are not queued while this much is still waiting in the relay socket's send buffer. */
const MAX_BACKLOG = 2 * 1024 * 1024
const BACKLOG_POLL_MS = 5

/** Outcome of one attempt: "sent" (the message follows its files), or the session broke on the way. */
export type FilesSent = "sent" | "broken"

const waitForRoom = (backlog: () => number) =>
  Effect.promise(async () => {
    while (backlog() > MAX_BACKLOG) await new Promise((resolve) => setTimeout(resolve, BACKLOG_POLL_MS))
  })

/** What a file part needs of a file: the sender's own id (to read it) and what the receiver is told. */
export interface FileToSend {
  readonly id: string
  readonly name: string
  readonly size: number
  readonly content_type: string
}

/**
 * Sends files over a link as bounded "part" messages under `messageId` (the message that
 * names them goes after). Each file is read as it goes (never whole in memory); a part waits
 * while the relay socket still holds more than MAX_BACKLOG unsent. A session that breaks part-way gives
 * "broken": the next session sends them again from the start, and the receiver starts over.
 */
export const sendFiles = (
  pipe: SealedPipe,
  attachments: Attachments["Type"],
  backlog: () => number,
  messageId: string,
  files: ReadonlyArray<FileToSend>
): Effect.Effect<FilesSent, AttachmentNotFound> =>
  Effect.gen(function*() {
    for (const [index, ref] of files.entries()) {
      const opened = yield* attachments.open(ref.id)
      let held: Array<Uint8Array> = []
      let heldBytes = 0
      let offset = 0
      const part = (bytes: Uint8Array, last: boolean) =>
        Effect.gen(function*() {
          const sent = pipe.send({
            t: "part",
            message_id: messageId,
            index,
            size: ref.size,
            name: ref.name,
            content_type: ref.content_type,
            offset,
            last,
            data: Buffer.from(bytes).toString("base64")
          })
          offset += bytes.length
          if (!sent) return false
          yield* waitForRoom(backlog)
          return !pipe.broken
        })
      const take = (size: number) => {
        const whole = Buffer.concat(held)
        held = whole.length > size ? [whole.subarray(size)] : []
        heldBytes = whole.length - Math.min(size, whole.length)
        return whole.subarray(0, size)
      }
      let ok = true
      yield* Stream.runForEachWhile(opened.content, (chunk) =>
        Effect.gen(function*() {
          held.push(chunk)
          heldBytes += chunk.length
          // Only what is beyond one part goes now: the last part is sent once the stream ends.
          while (ok && heldBytes > FILE_PART_BYTES) ok = yield* part(take(FILE_PART_BYTES), false)
          return ok
        }))
      if (!ok) return "broken"
      if (!(yield* part(take(heldBytes), true))) return "broken"
    }
    return "sent"
  })

/** A message's files (see `sendFiles`), then the message itself. */
export const sendWithFiles = (
  pipe: SealedPipe,
  attachments: Attachments["Type"],
  backlog: () => number,
  toPeer: string,
  frame: DeliveryFrame
): Effect.Effect<FilesSent, AttachmentNotFound> =>
  Effect.map(
    sendFiles(pipe, attachments, backlog, frame.message_id, frame.attachments),
    (sent): FilesSent =>
      sent === "sent" && pipe.send({ t: "deliver", to_peer: toPeer as RemotePeer["peer_id"], frame })
        ? "sent"
        : "broken"
  )
