import { Data, Duration, Effect, Either, Option, Stream } from "effect"
import * as MP from "multipasta"

/** The body is not a well-formed multipart upload (empty, cut short, bad part headers). */
export class MultipartInvalid extends Data.TaggedError("MultipartInvalid")<{ readonly message: string }> {}
/** A part, a field or the whole body is over its bound. */
export class MultipartTooLarge extends Data.TaggedError("MultipartTooLarge")<{ readonly message: string }> {}
/** No bytes arrived for the idle bound: the client stalled. */
export class MultipartStalled extends Data.TaggedError("MultipartStalled")<{ readonly message: string }> {}

export type MultipartFailure = MultipartInvalid | MultipartTooLarge | MultipartStalled

export interface MultipartBounds {
  readonly maxParts: number
  readonly maxPartBytes: number
  readonly maxFieldBytes: number
  readonly maxTotalBytes: number
  /** The longest wait for the body's next bytes. */
  readonly idle: Duration.Duration
}

/** A file part: its name as the client meant it (UTF-8), its declared type, its bytes. */
export interface FilePart<E> {
  readonly name: string
  readonly contentType: string
  readonly content: Stream.Stream<Uint8Array, MultipartFailure | E>
}

type Event =
  | { readonly _tag: "File"; readonly name: string; readonly contentType: string }
  | { readonly _tag: "Chunk"; readonly bytes: Uint8Array }
  | { readonly _tag: "FileEnd" }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Failed"; readonly error: MultipartFailure }

const decodePercent = (text: string, charset: string): string | undefined => {
  try {
    if (charset === "utf-8") return decodeURIComponent(text)
    if (charset === "iso-8859-1") {
      if (/%(?![0-9a-f]{2})/i.test(text)) return undefined
      return text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    }
    return undefined
  } catch {
    return undefined
  }
}

const PARAM = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g

/**
 * The file name of a part's Content-Disposition: `filename*` (RFC 5987/8187, UTF-8 or
 * ISO-8859-1) first, else `filename`, whose raw bytes were read as UTF-8 (what browsers send).
 * A `filename*` that does not decode is an error, not a silently different name.
 */
export const dispositionFileName = (header: string | undefined): Either.Either<string | undefined, string> => {
  if (header === undefined) return Either.right(undefined)
  const params = new Map<string, string>()
  for (const [, key, raw] of header.matchAll(PARAM)) {
    const value = raw!.startsWith("\"") ? raw!.slice(1, -1).replace(/\\(.)/g, "$1") : raw!.trim()
    params.set(key!.toLowerCase(), value)
  }
  const extended = params.get("filename*")
  if (extended !== undefined) {
    const match = /^([^']*)'[^']*'(.*)$/.exec(extended)
    const decoded = match === null ? undefined : decodePercent(match[2]!, match[1]!.toLowerCase())
    if (decoded === undefined) return Either.left(`filename* is not a UTF-8 or ISO-8859-1 encoded name: ${extended}`)
    return Either.right(decoded)
  }
  return Either.right(params.get("filename"))
}

const headerOf = (info: MP.PartInfo): string | undefined => {
  const value = info.headers["content-disposition"]
  return Array.isArray(value) ? value[0] : value
}

const failureOf = (error: MP.MultipartError): MultipartFailure => {
  switch (error._tag) {
    case "ReachedLimit":
      return error.limit === "MaxParts"
        ? new MultipartInvalid({ message: "the upload has too many parts" })
        : new MultipartTooLarge({ message: "the upload is too large" })
    case "InvalidBoundary":
      return new MultipartInvalid({ message: "the content type has no multipart boundary" })
    case "EndNotReached":
      return new MultipartInvalid({ message: "the upload ended before its closing boundary" })
    default:
      return new MultipartInvalid({ message: `not a valid multipart upload (${error._tag})` })
  }
}

/**
 * Reads a multipart/form-data body and hands each file part to `onFile`, one at a time, as a
 * stream of its bytes, read only as fast as `onFile` consumes them. Fields are skipped. Every
 * way a body can go wrong ends the read with a typed failure: nothing at all, a body that
 * ends before its closing boundary, a part over its bound, a client that stops sending for
 * `bounds.idle`. Answers how many files there were.
 */
export const readFileParts = <E, E2, R2>(
  body: Stream.Stream<Uint8Array, E>,
  headers: Readonly<Record<string, string | undefined>>,
  bounds: MultipartBounds,
  onFile: (file: FilePart<E>, index: number) => Effect.Effect<void, E2, R2>
): Effect.Effect<number, MultipartFailure | E | E2, R2> =>
  Effect.scoped(Effect.gen(function*() {
    const events: Array<Event> = []
    let failed = false
    const fail = (error: MultipartFailure) => {
      if (!failed) events.push({ _tag: "Failed", error })
      failed = true
    }
    const parser = MP.make({
      headers: headers as Record<string, string>,
      maxParts: bounds.maxParts,
      maxPartSize: bounds.maxPartBytes,
      maxFieldSize: bounds.maxFieldBytes,
      maxTotalSize: bounds.maxTotalBytes,
      // multipasta's own reading of Content-Disposition takes Latin-1 names only.
      isFile: (info) => {
        const name = dispositionFileName(headerOf(info))
        return Either.isLeft(name) || name.right !== undefined || info.contentType === "application/octet-stream"
      },
      onFile: (info) => {
        const name = dispositionFileName(headerOf(info))
        if (Either.isLeft(name)) {
          fail(new MultipartInvalid({ message: name.left }))
          return () => {}
        }
        events.push({ _tag: "File", name: name.right ?? info.name, contentType: info.contentType })
        return (chunk) => void events.push(chunk === null ? { _tag: "FileEnd" } : { _tag: "Chunk", bytes: chunk })
      },
      onField: () => {},
      onError: (error) => fail(failureOf(error)),
      onDone: () => void events.push({ _tag: "Done" })
    })
    const feed = (step: () => void) => {
      try {
        step()
      } catch {
        // multipasta throws on a malformed `filename*` while reading a part's headers.
        fail(new MultipartInvalid({ message: "a part's headers could not be read" }))
      }
    }

    const pull = yield* Stream.toPull(
      Stream.timeoutFail(body, () => new MultipartStalled({ message: "the upload stopped sending" }), bounds.idle)
    )
    let ended = false
    const next: Effect.Effect<Event, MultipartFailure | E> = Effect.suspend(() => {
      const event = events.shift()
      if (event !== undefined) return Effect.succeed(event)
      if (ended || failed) {
        return Effect.succeed<Event>({
          _tag: "Failed",
          error: new MultipartInvalid({ message: "the upload is empty or ended before its closing boundary" })
        })
      }
      return Effect.matchEffect(pull, {
        onFailure: Option.match({
          onNone: () => {
            ended = true
            feed(() => parser.end())
            return next
          },
          onSome: Effect.fail
        }),
        onSuccess: (chunks) => {
          for (const chunk of chunks) feed(() => parser.write(chunk))
          return next
        }
      })
    })

    const content: Stream.Stream<Uint8Array, MultipartFailure | E> = Stream.repeatEffectOption(
      Effect.flatMap(Effect.mapError(next, Option.some), (event) => {
        switch (event._tag) {
          case "Chunk":
            return Effect.succeed(event.bytes)
          case "FileEnd":
            return Effect.fail(Option.none())
          case "Failed":
            return Effect.fail(Option.some(event.error))
          default:
            return Effect.fail(Option.some(new MultipartInvalid({ message: "a file part did not end" })))
        }
      })
    )

    let files = 0
    while (true) {
      const event = yield* next
      if (event._tag === "Done") return files
      if (event._tag === "Failed") return yield* Effect.fail(event.error)
      if (event._tag === "File") yield* onFile({ name: event.name, contentType: event.contentType, content }, files++)
    }
  }))
