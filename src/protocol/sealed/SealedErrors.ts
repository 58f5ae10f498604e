import { Schema } from "effect"

/**
 * What ends a sealed handshake or a sealed stream. Each is final: the party that sees one
 * drops the session (or the stream) and never answers through it again.
 */

/** The handshake did not complete: a message failed to decrypt, a key was refused, or bytes were malformed. */
export class HandshakeFailed extends Schema.TaggedError<HandshakeFailed>()("HandshakeFailed", {
  reason: Schema.Literal("decrypt", "malformed", "bad_key", "unpinned_key", "out_of_turn"),
  message: Schema.String
}) {}

/** A record whose counter was already accepted on this stream. */
export class RecordReplayed extends Schema.TaggedError<RecordReplayed>()("RecordReplayed", {
  expected: Schema.Number,
  got: Schema.Number
}) {
  override get message() {
    return `sealed record ${this.got} was replayed (expected ${this.expected})`
  }
}

/** A record ahead of the next expected counter: one was dropped or the order was changed. */
export class RecordReordered extends Schema.TaggedError<RecordReordered>()("RecordReordered", {
  expected: Schema.Number,
  got: Schema.Number
}) {
  override get message() {
    return `sealed record ${this.got} arrived out of order (expected ${this.expected})`
  }
}

/** The stream stopped without its sealed end record, or in the middle of a record. */
export class RecordTruncated extends Schema.TaggedError<RecordTruncated>()("RecordTruncated", {
  message: Schema.String
}) {}

/** A record that does not authenticate: header, ciphertext or tag changed, or the wrong key. */
export class RecordAltered extends Schema.TaggedError<RecordAltered>()("RecordAltered", {
  message: Schema.String
}) {}

/** A record larger than the limit, refused from its header before its body is buffered. */
export class RecordOversize extends Schema.TaggedError<RecordOversize>()("RecordOversize", {
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message() {
    return `sealed record of ${this.size} bytes is over the limit of ${this.limit}`
  }
}

/** The stream was used after its end record, or its counter is spent: open a new stream. */
export class StreamClosed extends Schema.TaggedError<StreamClosed>()("StreamClosed", {
  message: Schema.String
}) {}

export type RecordError =
  | RecordReplayed
  | RecordReordered
  | RecordTruncated
  | RecordAltered
  | RecordOversize
  | StreamClosed
