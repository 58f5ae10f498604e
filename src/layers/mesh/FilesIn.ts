import { Cause, Deferred, Effect, Either, Exit, Option, Queue, Stream, Take } from "effect"
import type { AttachmentRef } from "../../protocol/Attachment.js"
import type { PartMessage } from "../../protocol/MeshWire.js"
import type { Attachments } from "../../services/Attachments.js"

/** A file arriving over a link, written as its parts come in. */
interface Incoming {
  readonly queue: Queue.Queue<Take.Take<Uint8Array, string>>
  readonly stored: Deferred.Deferred<AttachmentRef, string>
  received: number
}

/** One message's files: by their index in the message's attachments. */
interface Arriving {
  readonly files: Map<number, Incoming>
  /** Why the message cannot be taken, decided at a part (a file over the limit). */
  refused?: string | undefined
  /** Sent again though it was taken already: its parts are dropped as they come. */
  ignored?: boolean | undefined
}

/** What names the files: a message (its frame), or a reply's ack (its ReplyFile list under replyFilesId). */
export interface FilesOf {
  readonly message_id: string
  readonly attachments: ReadonlyArray<{ readonly size: number }>
}

/** What `take` found: the files stored here, a reason to refuse the message, or parts missing. */
export type Taken =
  | { readonly _tag: "stored"; readonly refs: ReadonlyArray<AttachmentRef> }
  | { readonly _tag: "refused"; readonly reason: string }
  | { readonly _tag: "incomplete" }

export interface FilesInDeps {
  readonly attachments: Attachments["Type"]
  /** The per-file limit of this daemon's attachments (`daemon.attachments.max_bytes`). */
  readonly maxBytes: number
  readonly fork: (effect: Effect.Effect<void>) => void
  /** Whether this daemon already took (or refused) the message: its files, sent again, are not stored again. */
  readonly taken: (origin: string, messageId: string) => boolean
}

const keyOf = (origin: string, messageId: string) => `${origin}\n${messageId}`
/** A file cut short on the way (a lost part, a broken session): the sender sends it again in full. */
const INCOMPLETE = "incomplete"

/**
 * Files that come over a link ahead of their message. Each is stored through Attachments as its
 * parts arrive, under this daemon's own limits (per file, quota); a file over them refuses
 * its message at once and nothing of it stays. The message takes them when it arrives.
 */
export const makeFilesIn = (deps: FilesInDeps) => {
  const arriving = new Map<string, Arriving>()

  const abort = (entry: Arriving, why: string) => {
    for (const file of entry.files.values()) Queue.unsafeOffer(file.queue, Take.fail(why))
  }

  const start = (entry: Arriving, part: PartMessage) => {
    const queue = Effect.runSync(Queue.unbounded<Take.Take<Uint8Array, string>>())
    const stored = Effect.runSync(Deferred.make<AttachmentRef, string>())
    const file: Incoming = { queue, stored, received: 0 }
    const old = entry.files.get(part.index)
    if (old !== undefined) Queue.unsafeOffer(old.queue, Take.fail(INCOMPLETE))
    entry.files.set(part.index, file)
    const content = Stream.fromQueue(queue).pipe(Stream.flattenTake)
    deps.fork(
      deps.attachments.upload({ name: part.name, contentType: part.content_type, content }).pipe(
        Effect.mapError((e) => typeof e === "string" ? e : `${e._tag}: ${e.message}`),
        Effect.exit,
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit)
            ? Deferred.succeed(stored, exit.value)
            // A defect (the disk, say) is no reason to refuse the message for good: it comes again.
            : Deferred.fail(stored, Option.getOrElse(Cause.failureOption(exit.cause), () => INCOMPLETE))
        ),
        // Parts still to come of a file that failed are not kept.
        Effect.ensuring(Queue.shutdown(queue)),
        Effect.asVoid
      )
    )
    return file
  }

  /** One part: written on, or the message refused (nothing of the file stays). A synchronous step. */
  const part = (origin: string, part: PartMessage) => {
    const key = keyOf(origin, part.message_id)
    let entry = arriving.get(key)
    if (entry === undefined) arriving.set(key, entry = { files: new Map() })
    if (part.offset === 0) {
      // The first part of a message's first file: a session broke part-way and it starts over.
      if (part.index === 0) {
        abort(entry, INCOMPLETE)
        arriving.set(key, entry = { files: new Map(), ignored: deps.taken(origin, part.message_id) })
      }
      if (entry.refused !== undefined || entry.ignored === true) return
      if (part.size > deps.maxBytes) {
        entry.refused = `PayloadTooLarge: a file is at most ${deps.maxBytes} bytes here (${part.name} has ${part.size})`
        abort(entry, entry.refused)
        return
      }
      start(entry, part)
    }
    if (entry.refused !== undefined) return
    const file = entry.files.get(part.index)
    if (file === undefined) return
    const bytes = Buffer.from(part.data, "base64")
    if (part.offset !== file.received || file.received + bytes.length > part.size) {
      Queue.unsafeOffer(file.queue, Take.fail(INCOMPLETE))
      return
    }
    file.received += bytes.length
    if (bytes.length > 0) Queue.unsafeOffer(file.queue, Take.of(new Uint8Array(bytes)))
    if (part.last) Queue.unsafeOffer(file.queue, Take.end)
  }

  /** The files of `frame` as stored here (removed again if any of them failed). */
  const take = (origin: string, frame: FilesOf): Effect.Effect<Taken> =>
    Effect.gen(function*() {
      const key = keyOf(origin, frame.message_id)
      const entry = arriving.get(key)
      arriving.delete(key)
      if (entry?.refused !== undefined) return { _tag: "refused", reason: entry.refused } as const
      const files = frame.attachments.map((_, index) => entry?.files.get(index))
      if (entry === undefined || files.some((f) => f === undefined)) {
        if (entry !== undefined) abort(entry, INCOMPLETE)
        return { _tag: "incomplete" } as const
      }
      const outcomes = yield* Effect.forEach(files, (file) => Effect.either(Deferred.await(file!.stored)))
      const refs = outcomes.flatMap((o) => Either.isRight(o) ? [o.right] : [])
      const failed = outcomes.find(Either.isLeft)
      const wrongSize = refs.find((ref, i) => ref.size !== frame.attachments[i]!.size)
      if (failed === undefined && wrongSize === undefined) return { _tag: "stored", refs } as const
      yield* deps.attachments.remove(refs.map((r) => r.id))
      if (failed !== undefined && failed.left === INCOMPLETE) return { _tag: "incomplete" } as const
      const reason = failed !== undefined ? failed.left : `${wrongSize!.name} arrived with ${wrongSize!.size} bytes`
      return { _tag: "refused", reason } as const
    })

  /** A link went down: what was arriving over it is dropped (it is sent again in full). */
  const dropOrigin = (origin: string) => {
    for (const [key, entry] of arriving) {
      if (!key.startsWith(`${origin}\n`)) continue
      abort(entry, INCOMPLETE)
      arriving.delete(key)
    }
  }

  /** The message is refused before its files are taken: whatever of them was stored goes. */
  const discard = (origin: string, frame: FilesOf) =>
    Effect.flatMap(
      take(origin, frame),
      (taken) => taken._tag === "stored" ? deps.attachments.remove(taken.refs.map((r) => r.id)) : Effect.void
    )

  return { part, take, discard, dropOrigin }
}

export type FilesIn = ReturnType<typeof makeFilesIn>
