import type { HttpApi, HttpApiClient, HttpApiGroup, HttpClientError } from "@effect/platform"
import { Context, Data, type Effect, type ParseResult } from "effect"
import type { DaemonApi, RelayStatus } from "../protocol/DaemonApi.js"
import type { Registered, RegisterPeer } from "../protocol/Peer.js"

/** The daemon did not answer: not running, wrong port, or a network failure. */
export class DaemonUnreachable extends Data.TaggedError("DaemonUnreachable")<{ readonly message: string }> {}

/** The daemon answered something the contract does not describe. */
export class DaemonFailure extends Data.TaggedError("DaemonFailure")<{ readonly message: string }> {}

export type DaemonApiClient = typeof DaemonApi extends HttpApi.HttpApi<
  infer _Id extends string,
  infer Groups extends HttpApiGroup.HttpApiGroup.Any,
  infer ApiError,
  infer _R
> ? HttpApiClient.Client<Groups, ApiError, never>
  : never

/** Transport errors are replaced by DaemonUnreachable / DaemonFailure; the contract's typed errors stay. */
export type DaemonCallError<E> =
  | Exclude<E, HttpClientError.HttpClientError | ParseResult.ParseError>
  | DaemonUnreachable
  | DaemonFailure

/** Who a request is sent as, beyond the daemon's auth token. */
export interface CallOptions {
  /** The calling peer's token, as X-Repowire-Peer-Token. */
  readonly peerToken?: string | undefined
}

/**
 * The typed client of the daemon's HttpApi for first-party programs (CLI, MCP server; the hook
 * has its own promise client for its start-up time). Sends `Authorization: Bearer
 * <daemon.auth_token>` when set, and the calling peer's token as X-Repowire-Peer-Token when
 * `peerToken` is given.
 */
export class DaemonClient extends Context.Tag("repowire/DaemonClient")<DaemonClient, {
  readonly baseUrl: string
  readonly call: <A, E>(
    f: (api: DaemonApiClient) => Effect.Effect<A, E>,
    options?: CallOptions
  ) => Effect.Effect<A, DaemonCallError<E>>
  /**
   * `POST /peers`: registers a peer, or resumes `request.peer_id` given its token. A human
   * presents the local human credential.
   */
  readonly register: (
    request: RegisterPeer,
    options?: CallOptions & { readonly humanCredential?: string | undefined }
  ) => Effect.Effect<Registered, DaemonCallError<Effect.Effect.Error<ReturnType<DaemonApiClient["peers"]["register"]>>>>
  /** Uploads local files with `POST /attachments` (multipart); their attachment ids, in order. */
  readonly upload: (
    files: ReadonlyArray<string>,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyArray<string>, DaemonUnreachable | DaemonFailure>
  /**
   * `POST /relay/reconnect` (local-only, so not in the contract): the daemon re-reads the relay
   * section of config.yaml and redials; its relay status after that.
   */
  readonly reconnectRelay: Effect.Effect<RelayStatus, DaemonUnreachable | DaemonFailure>
}>() {}
