import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Schema } from "effect"

/**
 * Every error that crosses the wire is `{"error": {"code", "message"}}` with an HTTP status.
 * Each error is a Schema.TaggedError (yieldable, typed) and has a `Body` schema that the
 * HttpApi contract uses to encode it in that envelope and the typed client to decode it.
 */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String })
})
export type ErrorBody = typeof ErrorBody.Type

interface ApiErrorClass<Self extends { readonly message: string }> {
  new(props: { readonly message: string }): Self
  readonly code: string
  readonly status: number
}

const envelope = <Self extends { readonly message: string }>(cls: ApiErrorClass<Self>) =>
  Schema.transform(
    Schema.Struct({ error: Schema.Struct({ code: Schema.Literal(cls.code), message: Schema.String }) }),
    Schema.declare((u): u is Self => u instanceof cls, { identifier: cls.code }),
    {
      strict: true,
      decode: ({ error }) => new cls({ message: error.message }),
      encode: (e) => ({ error: { code: cls.code, message: e.message } as const })
    }
  ).annotations(HttpApiSchema.annotations({ status: cls.status }))

export const errorBody = (code: string, message: string): ErrorBody => ({ error: { code, message } })

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {
  static readonly code = "invalid_request"
  static readonly status = 400
}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {
  static readonly code = "unauthorized"
  static readonly status = 401
}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {
  static readonly code = "forbidden"
  static readonly status = 403
}
/** The access rules (policy.yaml) refuse this caller this action on this target. */
export class PolicyDenied extends Schema.TaggedError<PolicyDenied>()("PolicyDenied", { message: Schema.String }) {
  static readonly code = "policy_denied"
  static readonly status = 403
}
export class PeerNotFound extends Schema.TaggedError<PeerNotFound>()("PeerNotFound", { message: Schema.String }) {
  static readonly code = "peer_not_found"
  static readonly status = 404
}
export class AskNotFound extends Schema.TaggedError<AskNotFound>()("AskNotFound", { message: Schema.String }) {
  static readonly code = "ask_not_found"
  static readonly status = 404
}
export class AttachmentNotFound
  extends Schema.TaggedError<AttachmentNotFound>()("AttachmentNotFound", { message: Schema.String })
{
  static readonly code = "attachment_not_found"
  static readonly status = 404
}
export class AmbiguousPeer extends Schema.TaggedError<AmbiguousPeer>()("AmbiguousPeer", { message: Schema.String }) {
  static readonly code = "ambiguous_peer"
  static readonly status = 409
}
export class AlreadyAcked extends Schema.TaggedError<AlreadyAcked>()("AlreadyAcked", { message: Schema.String }) {
  static readonly code = "already_acked"
  static readonly status = 409
}
export class PayloadTooLarge
  extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", { message: Schema.String })
{
  static readonly code = "payload_too_large"
  static readonly status = 413
}
export class UnsupportedMediaType
  extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", { message: Schema.String })
{
  static readonly code = "unsupported_media_type"
  static readonly status = 415
}
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", { message: Schema.String }) {
  static readonly code = "queue_full"
  static readonly status = 507
}
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", { message: Schema.String }) {
  static readonly code = "quota_exceeded"
  static readonly status = 507
}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {
  static readonly code = "not_found"
  static readonly status = 404
}
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", { message: Schema.String }) {
  static readonly code = "request_timeout"
  static readonly status = 408
}
export class TooManyRequests
  extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", { message: Schema.String })
{
  static readonly code = "too_many_requests"
  static readonly status = 429
}
/** Too many attempts from one client (the relay's per-address limits). */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", { message: Schema.String }) {
  static readonly code = "rate_limited"
  static readonly status = 429
}
/** The request is fine, but the state it needs is not there (the relay: no daemon connected). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }) {
  static readonly code = "conflict"
  static readonly status = 409
}
/** What the request was meant to reach (the relay: the user's daemon) is not there to answer. */
export class BadGateway extends Schema.TaggedError<BadGateway>()("BadGateway", { message: Schema.String }) {
  static readonly code = "bad_gateway"
  static readonly status = 502
}
/** The server is not taking this now (the relay: shutting down). */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { message: Schema.String }) {
  static readonly code = "unavailable"
  static readonly status = 503
}
/** What the request reached (the relay: the user's daemon) did not answer in time. */
export class GatewayTimeout extends Schema.TaggedError<GatewayTimeout>()("GatewayTimeout", { message: Schema.String }) {
  static readonly code = "gateway_timeout"
  static readonly status = 504
}
/** A bug, never the client's doing; the details go to the log, not the caller. */
export class Internal extends Schema.TaggedError<Internal>()("Internal", { message: Schema.String }) {
  static readonly code = "internal"
  static readonly status = 500
  static readonly logged = () => new Internal({ message: "internal error; see the log" })
}

export const BadRequestBody = envelope(BadRequest)
export const UnauthorizedBody = envelope(Unauthorized)
export const ForbiddenBody = envelope(Forbidden)
export const PolicyDeniedBody = envelope(PolicyDenied)
export const PeerNotFoundBody = envelope(PeerNotFound)
export const AskNotFoundBody = envelope(AskNotFound)
export const AttachmentNotFoundBody = envelope(AttachmentNotFound)
export const AmbiguousPeerBody = envelope(AmbiguousPeer)
export const AlreadyAckedBody = envelope(AlreadyAcked)
export const PayloadTooLargeBody = envelope(PayloadTooLarge)
export const UnsupportedMediaTypeBody = envelope(UnsupportedMediaType)
export const QueueFullBody = envelope(QueueFull)
export const QuotaExceededBody = envelope(QuotaExceeded)

/** Errors a peer lookup can end in. */
export type PeerLookupError = PeerNotFound | AmbiguousPeer

/** An error that knows its wire form: its class carries the HTTP status and the code. */
export interface WireError {
  readonly status: number
  readonly body: ErrorBody
}

/** The wire form of a typed error of this module; undefined for anything else. */
export const wireErrorOf = (error: unknown): WireError | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const cls = error.constructor as { readonly status?: unknown; readonly code?: unknown }
  const message = (error as { readonly message?: unknown }).message
  return typeof cls.status === "number" && typeof cls.code === "string" && typeof message === "string"
    ? { status: cls.status, body: errorBody(cls.code, message) }
    : undefined
}

export type AnyWireError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | PeerNotFound
  | AskNotFound
  | AttachmentNotFound
  | NotFound
  | RequestTimeout
  | AmbiguousPeer
  | AlreadyAcked
  | PayloadTooLarge
  | UnsupportedMediaType
  | TooManyRequests
  | QueueFull
  | QuotaExceeded
  | Internal
  | PolicyDenied
  | ScheduleNotFound
  | SpawnRefused
  | SpawnFailed
  | RoleTaken
  | PairingRefused
  | DeviceNotFound
  | RateLimited
  | Conflict
  | BadGateway
  | Unavailable
  | GatewayTimeout

/**
 * A typed error as an HTTP response: the one way a route answers outside the HttpApi's own
 * encoding. The body is the JSON envelope, or with `page` an HTML page that shows the message
 * (the relay's forms answer a person, not a program).
 */
export const errorResponse = (
  error: AnyWireError,
  headers: Readonly<Record<string, string>> = {},
  page?: (message: string) => string
) => {
  const wire = wireErrorOf(error)!
  return page === undefined
    ? HttpServerResponse.unsafeJson(wire.body, { status: wire.status, headers })
    : HttpServerResponse.text(page(wire.body.error.message), {
      status: wire.status,
      contentType: "text/html; charset=utf-8",
      headers
    })
}
export class ScheduleNotFound
  extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", { message: Schema.String })
{
  static readonly code = "schedule_not_found"
  static readonly status = 404
}
export const ScheduleNotFoundBody = envelope(ScheduleNotFound)

/** Spawning or killing an agent was refused: not configured, outside the allowed folders, or tunnelled. */
export class SpawnRefused extends Schema.TaggedError<SpawnRefused>()("SpawnRefused", { message: Schema.String }) {
  static readonly code = "spawn_refused"
  static readonly status = 403
}
export const SpawnRefusedBody = envelope(SpawnRefused)

/** tmux could not open the window (the request was fine; the machine's tmux failed). */
export class SpawnFailed extends Schema.TaggedError<SpawnFailed>()("SpawnFailed", { message: Schema.String }) {
  static readonly code = "spawn_failed"
  static readonly status = 502
}
export const SpawnFailedBody = envelope(SpawnFailed)

/** The circle already has a live holder of the role. */
export class RoleTaken extends Schema.TaggedError<RoleTaken>()("RoleTaken", { message: Schema.String }) {
  static readonly code = "role_taken"
  static readonly status = 409
}
export const RoleTakenBody = envelope(RoleTaken)

/** A pairing secret that is unknown, already used or expired: nothing was stored. */
export class PairingRefused extends Schema.TaggedError<PairingRefused>()("PairingRefused", {
  message: Schema.String
}) {
  static readonly code = "pairing_refused"
  static readonly status = 403
}
export const PairingRefusedBody = envelope(PairingRefused)

/** No paired device has this id (or it is already revoked). */
export class DeviceNotFound extends Schema.TaggedError<DeviceNotFound>()("DeviceNotFound", { message: Schema.String }) {
  static readonly code = "device_not_found"
  static readonly status = 404
}
export const DeviceNotFoundBody = envelope(DeviceNotFound)

export const NotFoundBody = envelope(NotFound)
export const UnavailableBody = envelope(Unavailable)
