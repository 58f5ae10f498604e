import { HttpApi, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import {
  AlreadyAckedBody,
  AmbiguousPeerBody,
  AskNotFoundBody,
  AttachmentNotFoundBody,
  BadRequestBody,
  ForbiddenBody,
  PeerNotFoundBody,
  QueueFullBody,
  UnauthorizedBody
} from "./Errors.js"
import {
  AckAccepted,
  AckRequest,
  Ask,
  AskAccepted,
  AskDirection,
  AskList,
  AskRequest,
  BroadcastAccepted,
  BroadcastRequest,
  ConfirmDeliveries,
  DeliveriesConfirmed,
  DeliveryList,
  NotifyAccepted,
  NotifyRequest
} from "./Message.js"
import { ChatReportRequest, EventList } from "./MeshEvent.js"
import { Peer, PeerList, PeerStatus, Registered, RegisterPeer, SetCircle, SetDescription, SetStatus } from "./Peer.js"

export const RelayStatus = Schema.Struct({
  status: Schema.Literal("disabled", "connecting", "connected", "down"),
  url: Schema.NullOr(Schema.String),
  last_error: Schema.NullOr(Schema.String),
  last_connected_at: Schema.NullOr(Schema.String)
})
export type RelayStatus = typeof RelayStatus.Type

export const Health = Schema.Struct({
  ok: Schema.Boolean,
  version: Schema.String,
  uptime_s: Schema.Number,
  peers: Schema.Struct({ online: Schema.Int, busy: Schema.Int, offline: Schema.Int }),
  relay: RelayStatus
})
export type Health = typeof Health.Type

const BooleanParam = Schema.Literal("true", "false", "1", "0").pipe(
  Schema.transform(Schema.Boolean, { strict: true, decode: (s) => s === "true" || s === "1", encode: (b) => (b ? "true" : "false") })
)
const IntParam = (min: number, max: number) => Schema.NumberFromString.pipe(Schema.int(), Schema.between(min, max))

const RefPath = Schema.Struct({ ref: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)) })
const IdPath = Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)) })

export class HealthGroup extends HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
{}

export class PeersGroup extends HttpApiGroup.make("peers")
  .add(
    HttpApiEndpoint.get("list", "/peers")
      .setUrlParams(Schema.Struct({
        circle: Schema.optional(Schema.String),
        status: Schema.optional(PeerStatus),
        all: Schema.optional(BooleanParam)
      }))
      .addSuccess(PeerList)
  )
  .add(
    HttpApiEndpoint.get("get", "/peers/:ref").setPath(RefPath).addSuccess(Peer).addError(PeerNotFoundBody)
      .addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("register", "/peers").setPayload(RegisterPeer).addSuccess(Registered, { status: 201 })
      .addError(UnauthorizedBody).addError(PeerNotFoundBody)
  )
  .add(
    HttpApiEndpoint.del("remove", "/peers/:ref").setPath(RefPath).addSuccess(Schema.Struct({ removed: Schema.String }))
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("setDescription", "/peers/:ref/description").setPath(RefPath).setPayload(SetDescription)
      .addSuccess(Peer).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("setCircle", "/peers/:ref/circle").setPath(RefPath).setPayload(SetCircle)
      .addSuccess(Peer).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("setStatus", "/peers/:ref/status").setPath(RefPath).setPayload(SetStatus)
      .addSuccess(Peer).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
{}

export class MessagesGroup extends HttpApiGroup.make("messages")
  .add(
    HttpApiEndpoint.post("ask", "/ask").setPayload(AskRequest).addSuccess(AskAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody).addError(AskNotFoundBody)
      .addError(QueueFullBody).addError(AttachmentNotFoundBody)
  )
  .add(
    HttpApiEndpoint.post("ack", "/ack").setPayload(AckRequest).addSuccess(AckAccepted)
      .addError(AskNotFoundBody).addError(AlreadyAckedBody).addError(ForbiddenBody).addError(QueueFullBody)
      .addError(AttachmentNotFoundBody)
  )
  .add(
    HttpApiEndpoint.post("notify", "/notify").setPayload(NotifyRequest).addSuccess(NotifyAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody).addError(QueueFullBody)
      .addError(AttachmentNotFoundBody)
  )
  .add(
    HttpApiEndpoint.post("broadcast", "/broadcast").setPayload(BroadcastRequest).addSuccess(BroadcastAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
      .addError(AttachmentNotFoundBody)
  )
{}

export class AsksGroup extends HttpApiGroup.make("asks")
  .add(
    HttpApiEndpoint.get("list", "/asks")
      .setUrlParams(Schema.Struct({
        peer: Schema.optional(Schema.String),
        direction: Schema.optional(AskDirection),
        open: Schema.optional(BooleanParam),
        limit: Schema.optional(IntParam(1, 1000))
      }))
      .addSuccess(AskList).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(HttpApiEndpoint.get("get", "/asks/:id").setPath(IdPath).addSuccess(Ask).addError(AskNotFoundBody))
  .add(
    HttpApiEndpoint.post("wait", "/asks/:id/wait").setPath(IdPath)
      .setUrlParams(Schema.Struct({ timeout: Schema.optional(IntParam(0, 600)) }))
      .addSuccess(Ask).addError(AskNotFoundBody)
  )
{}

export class DeliveriesGroup extends HttpApiGroup.make("deliveries")
  .add(
    HttpApiEndpoint.get("drain", "/deliveries")
      .setUrlParams(Schema.Struct({ peer: Schema.String.pipe(Schema.minLength(1)), peek: Schema.optional(BooleanParam) }))
      .addSuccess(DeliveryList).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.post("confirm", "/deliveries/ack").setPayload(ConfirmDeliveries)
      .addSuccess(DeliveriesConfirmed).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
{}

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.post("report", "/events/chat").setPayload(ChatReportRequest)
      .addSuccess(Schema.Struct({ id: Schema.Int }), { status: 201 })
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.get("list", "/events")
      .setUrlParams(Schema.Struct({
        since: Schema.optional(IntParam(0, Number.MAX_SAFE_INTEGER)),
        limit: Schema.optional(IntParam(1, 5000)),
        peer: Schema.optional(Schema.String),
        circle: Schema.optional(Schema.String)
      }))
      .addSuccess(EventList)
  )
{}

/** The daemon's JSON API. Raw routes beside it: /ws, /events/stream, /attachments, /dashboard, /mcp. */
export class DaemonApi extends HttpApi.make("repowire")
  .add(HealthGroup)
  .add(PeersGroup)
  .add(MessagesGroup)
  .add(AsksGroup)
  .add(DeliveriesGroup)
  .add(EventsGroup)
  .addError(BadRequestBody)
  .addError(UnauthorizedBody)
{}

