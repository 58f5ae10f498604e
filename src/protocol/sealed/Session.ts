import { Effect } from "effect"
import { RecordFailure } from "./core/Failures.js"
import * as Core from "./core/Session.js"
import { RecordOpener, RecordSealer, toRecordError } from "./Records.js"
import type { StreamClosed } from "./SealedErrors.js"

/**
 * A session after its handshake (per-direction keys, one sealer and opener per stream: see
 * ./core/Session.ts), as effects for the daemon. The browser uses the core directly.
 */
export class SealedSession {
  private constructor(readonly core: Core.SealedSession) {}

  static readonly fromHandshake = (result: Core.Handshaken): SealedSession =>
    new SealedSession(Core.SealedSession.fromHandshake(result))

  get remoteStatic(): Uint8Array {
    return this.core.remoteStatic
  }

  get handshakeHash(): Uint8Array {
    return this.core.handshakeHash
  }

  /**
   * Both direction keys for `stream`, claiming its id both ways like `outgoing` and `incoming`:
   * for records sealed by a synchronous AEAD (SyncRecords.ts) under the same keys.
   */
  streamKeys(stream: number): Effect.Effect<Core.StreamKeys, StreamClosed> {
    const keys = this.core.streamKeys(stream)
    if (!(keys instanceof Promise)) return Effect.succeed(keys)
    keys.catch(() => undefined)
    return streamOf(() => keys)
  }

  /** The sealer of this party's records on `stream`; each stream id once. */
  outgoing(stream: number): Effect.Effect<RecordSealer, StreamClosed> {
    return streamOf(() => this.core.outgoing(stream).then((core) => new RecordSealer(core)))
  }

  /** The opener of the peer's records on `stream`; each stream id once. */
  incoming(stream: number): Effect.Effect<RecordOpener, StreamClosed> {
    return streamOf(() => this.core.incoming(stream).then((core) => new RecordOpener(core)))
  }
}

const streamOf = <A>(run: () => Promise<A>): Effect.Effect<A, StreamClosed> =>
  Effect.tryPromise({ try: run, catch: (e) => e }).pipe(
    Effect.catchAll((e) => (e instanceof RecordFailure ? Effect.fail(toRecordError(e) as StreamClosed) : Effect.die(e)))
  )
