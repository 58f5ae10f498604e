import { HttpApi, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { BooleanParam, IdPath, IntParam, RefPath } from "./ApiParams.js"
import {
  AlreadyAckedBody,
  AmbiguousPeerBody,
  AskNotFoundBody,
  AttachmentNotFoundBody,
  BadRequestBody,
  ForbiddenBody,
  PeerNotFoundBody,
  PolicyDeniedBody,
  QueueFullBody,
  RoleTakenBody,
  ScheduleNotFoundBody,
  SpawnFailedBody,
  SpawnRefusedBody,
  UnauthorizedBody
} from "./Errors.js"
import { MeshGroup } from "./MeshApi.js"
import { ChatReportRequest, EventList } from "./MeshEvent.js"
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
import {
  ClaimRole,
  Peer,
  PeerList,
  PeerStatus,
  Registered,
  RegisterPeer,
  SetCircle,
  SetDescription,
  SetStatus
} from "./Peer.js"
import {
  PolicyCheckRequest,
  PolicyDecisionBody,
  PolicyHealth,
  PolicyToolList,
  PolicyToolRequest,
  PolicyView
} from "./Policy.js"
import { CreateSchedule, Schedule, ScheduleList } from "./Schedule.js"
import { SealedGroup } from "./SealedApi.js"
import { Killed, Spawned, SpawnRequest } from "./Spawn.js"

export const RelayStatus = Schema.Struct({
  status: Schema.Literal("disabled", "connecting", "connected", "down"),
  url: Schema.NullOr(Schema.String),
  last_error: Schema.NullOr(Schema.String),
  last_connected_at: Schema.NullOr(Schema.String)
})
export type RelayStatus = typeof RelayStatus.Type

/** The answer of the local-only `POST /relay/reconnect` (outside the HttpApi: never tunnelled). */
export const RelayReconnected = Schema.Struct({ relay: RelayStatus })

export const Health = Schema.Struct({
  ok: Schema.Boolean,
  version: Schema.String,
  uptime_s: Schema.Number,
  /** `daemon.machine_name` (default: the host name): the `machine` of this daemon's peers. */
  machine: Schema.String,
  peers: Schema.Struct({ online: Schema.Int, busy: Schema.Int, offline: Schema.Int }),
  relay: RelayStatus,
  /** The access rules (policy.yaml): in force, invalid (the last good rules stay), or none. */
  policy: PolicyHealth
})
export type Health = typeof Health.Type

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
      .addError(AmbiguousPeerBody).addError(ForbiddenBody).addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("register", "/peers").setPayload(RegisterPeer).addSuccess(Registered, { status: 201 })
      .addError(UnauthorizedBody).addError(PeerNotFoundBody).addError(ForbiddenBody)
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
  .add(
    HttpApiEndpoint.post("claimRole", "/peers/:ref/role").setPath(RefPath).setPayload(ClaimRole)
      .addSuccess(Peer).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
      .addError(RoleTakenBody)
  )
{}

export class MessagesGroup extends HttpApiGroup.make("messages")
  .add(
    HttpApiEndpoint.post("ask", "/ask").setPayload(AskRequest).addSuccess(AskAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody).addError(AskNotFoundBody)
      .addError(QueueFullBody).addError(AttachmentNotFoundBody).addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("ack", "/ack").setPayload(AckRequest).addSuccess(AckAccepted)
      .addError(AskNotFoundBody).addError(AlreadyAckedBody).addError(ForbiddenBody).addError(QueueFullBody)
      .addError(AttachmentNotFoundBody).addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("notify", "/notify").setPayload(NotifyRequest).addSuccess(NotifyAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody).addError(QueueFullBody)
      .addError(AttachmentNotFoundBody).addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("broadcast", "/broadcast").setPayload(BroadcastRequest).addSuccess(BroadcastAccepted)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
      .addError(AttachmentNotFoundBody).addError(PolicyDeniedBody)
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
  .add(
    HttpApiEndpoint.get("get", "/asks/:id").setPath(IdPath).addSuccess(Ask).addError(AskNotFoundBody)
      .addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("wait", "/asks/:id/wait").setPath(IdPath)
      .setUrlParams(Schema.Struct({ timeout: Schema.optional(IntParam(0, 600)) }))
      .addSuccess(Ask).addError(AskNotFoundBody).addError(PolicyDeniedBody)
  )
{}

export class DeliveriesGroup extends HttpApiGroup.make("deliveries")
  .add(
    HttpApiEndpoint.get("drain", "/deliveries")
      .setUrlParams(
        Schema.Struct({ peer: Schema.String.pipe(Schema.minLength(1)), peek: Schema.optional(BooleanParam) })
      )
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

/** Local-only writes; the dashboard lists and deletes through the relay too (TunnelRoutes). */
export class SchedulesGroup extends HttpApiGroup.make("schedules")
  .add(
    HttpApiEndpoint.post("create", "/schedules").setPayload(CreateSchedule).addSuccess(Schedule, { status: 201 })
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.get("list", "/schedules")
      .setUrlParams(Schema.Struct({ peer: Schema.optional(Schema.String) }))
      .addSuccess(ScheduleList).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(
    HttpApiEndpoint.del("remove", "/schedules/:id").setPath(IdPath).addSuccess(Schedule)
      .addError(ScheduleNotFoundBody).addError(ForbiddenBody)
  )
{}

/** The `spawn` action of the access rules decides; through the relay only a rule can allow it. */
export class SpawnGroup extends HttpApiGroup.make("spawn")
  .add(
    HttpApiEndpoint.post("spawn", "/spawn").setPayload(SpawnRequest).addSuccess(Spawned, { status: 201 })
      .addError(SpawnRefusedBody).addError(SpawnFailedBody).addError(ForbiddenBody).addError(PeerNotFoundBody)
      .addError(AmbiguousPeerBody).addError(PolicyDeniedBody)
  )
  .add(
    HttpApiEndpoint.post("kill", "/peers/:ref/kill").setPath(RefPath).addSuccess(Killed)
      .addError(SpawnRefusedBody).addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
      .addError(PolicyDeniedBody)
  )
{}

/**
 * The access rules: GET /policy is read-only (the dashboard shows it, also through the relay);
 * the rest are local-only. /policy/tools and /policy/tool serve the MCP servers, which list
 * and run tools for the peer of the X-Repowire-Peer-Token.
 */
export class PolicyGroup extends HttpApiGroup.make("policy")
  .add(HttpApiEndpoint.get("show", "/policy").addSuccess(PolicyView))
  .add(
    HttpApiEndpoint.post("check", "/policy/check").setPayload(PolicyCheckRequest).addSuccess(PolicyDecisionBody)
      .addError(PeerNotFoundBody).addError(AmbiguousPeerBody).addError(ForbiddenBody)
  )
  .add(HttpApiEndpoint.get("tools", "/policy/tools").addSuccess(PolicyToolList).addError(UnauthorizedBody))
  .add(
    HttpApiEndpoint.post("tool", "/policy/tool").setPayload(PolicyToolRequest)
      .addSuccess(Schema.Struct({ decision: Schema.Literal("allow") })).addError(UnauthorizedBody)
      .addError(PolicyDeniedBody)
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
  .add(SchedulesGroup)
  .add(SpawnGroup)
  .add(PolicyGroup)
  .add(SealedGroup)
  .add(MeshGroup)
  .addError(BadRequestBody)
  .addError(UnauthorizedBody)
{}
