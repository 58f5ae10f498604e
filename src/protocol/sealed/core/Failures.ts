/**
 * What ends a sealed handshake or stream, as plain errors for the Effect-free core. The Effect
 * face turns each into its Schema.TaggedError of ../SealedErrors.ts, field for field.
 */

export type HandshakeReason = "decrypt" | "malformed" | "bad_key" | "unpinned_key" | "out_of_turn"

/** The handshake did not complete: a message failed to decrypt, a key was refused, or bytes were malformed. */
export class HandshakeError extends Error {
  readonly _tag = "HandshakeFailed"
  constructor(readonly reason: HandshakeReason, message: string) {
    super(message)
  }
}

/** The counter reached its reserved maximum: the key must be replaced before it is used again. */
export class NonceExhausted {
  readonly _tag = "NonceExhausted"
}

/** One record error of a stream; `tag` names the SealedErrors class it stands for. */
export type RecordFailureFields =
  | { readonly tag: "RecordReplayed" | "RecordReordered"; readonly expected: number; readonly got: number }
  | { readonly tag: "RecordOversize"; readonly size: number; readonly limit: number }
  | { readonly tag: "RecordTruncated" | "RecordAltered" | "StreamClosed"; readonly message: string }

const describe = (f: RecordFailureFields): string => {
  switch (f.tag) {
    case "RecordReplayed":
      return `sealed record ${f.got} was replayed (expected ${f.expected})`
    case "RecordReordered":
      return `sealed record ${f.got} arrived out of order (expected ${f.expected})`
    case "RecordOversize":
      return `sealed record of ${f.size} bytes is over the limit of ${f.limit}`
    default:
      return f.message
  }
}

/** A sealed stream failed (replayed, reordered, truncated, altered, oversize record) or is closed. */
export class RecordFailure extends Error {
  constructor(readonly fields: RecordFailureFields) {
    super(describe(fields))
  }
}

export const streamClosed = (message: string) => new RecordFailure({ tag: "StreamClosed", message })
