import { Schema } from "effect"
import { strict } from "./Strict.js"

export const PEER_ID_PATTERN = /^peer-[a-z0-9]{8,40}$/

export const PeerId = Schema.String.pipe(
  Schema.pattern(PEER_ID_PATTERN),
  Schema.brand("PeerId"),
  Schema.annotations({ identifier: "PeerId", description: "immutable routing key, peer-…" })
)
export type PeerId = typeof PeerId.Type

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

export const PeerName = Schema.String.pipe(
  Schema.pattern(namePattern, {
    message: () => "a name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
  }),
  Schema.annotations({ identifier: "PeerName" })
)

export const Circle = Schema.String.pipe(
  Schema.pattern(namePattern, {
    message: () => "a circle is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
  }),
  Schema.annotations({ identifier: "Circle" })
)

export const DEFAULT_CIRCLE = "default"

export const Backend = Schema.Literal("claude-code", "codex", "gemini", "opencode", "dashboard", "cli")
export type Backend = typeof Backend.Type

/** `orchestrator`: an agent that reaches every circle, one per circle, claimed (never registered). */
export const Role = Schema.Literal("agent", "human", "service", "orchestrator")
export type Role = typeof Role.Type

export const RegisterRole = Schema.Literal("agent", "human", "service")

export const PeerStatus = Schema.Literal("online", "busy", "offline")
export type PeerStatus = typeof PeerStatus.Type

/** Where the agent's turn is, from its hooks: a prompt started it (working), or it stopped and waits. */
export const TurnState = Schema.Literal("working", "awaiting_input")
export type TurnState = typeof TurnState.Type

export const Description = Schema.String.pipe(Schema.maxLength(2000))

const METADATA_MAX_BYTES = 4096

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((value) => JSON.stringify(value).length <= METADATA_MAX_BYTES, {
    message: () => `metadata must encode to at most ${METADATA_MAX_BYTES} bytes of JSON`
  })
)

export const Peer = Schema.Struct({
  peer_id: PeerId,
  display_name: Schema.String,
  path: Schema.NullOr(Schema.String),
  machine: Schema.String,
  backend: Backend,
  circle: Schema.String,
  role: Role,
  status: PeerStatus,
  description: Schema.String,
  last_seen: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** Null until the agent's first turn, and while it is offline. Absent in events from before it existed. */
  turn_state: Schema.optionalWith(Schema.NullOr(TurnState), { default: () => null })
})
export type Peer = typeof Peer.Type

export const RegisterPeer = Schema.Struct({
  name: PeerName,
  backend: Backend,
  path: Schema.optional(Schema.String.pipe(Schema.maxLength(4096))),
  circle: Schema.optional(Circle),
  role: Schema.optional(RegisterRole),
  description: Schema.optional(Description),
  machine: Schema.optional(Schema.String.pipe(Schema.maxLength(255))),
  metadata: Schema.optional(Metadata),
  /** Resume an existing peer: requires that peer's token in X-Repowire-Peer-Token. */
  peer_id: Schema.optional(PeerId)
}).pipe(strict)
export type RegisterPeer = typeof RegisterPeer.Type

export const Registered = Schema.Struct({
  peer_id: PeerId,
  display_name: Schema.String,
  circle: Schema.String,
  token: Schema.String
})
export type Registered = typeof Registered.Type

export const SetDescription = Schema.Struct({ description: Description }).pipe(strict)
export const SetCircle = Schema.Struct({ circle: Circle }).pipe(strict)
export const SetStatus = Schema.Struct({ status: PeerStatus }).pipe(strict)

export const PeerList = Schema.Struct({ peers: Schema.Array(Peer) })

/** Claims a role for a peer in `circle` (default: its own); `agent` gives the role back. */
export const ClaimRole = Schema.Struct({
  role: Schema.Literal("orchestrator", "agent"),
  circle: Schema.optional(Circle),
  /** Take the role from a live holder. A holder that is offline is replaced without it. */
  force: Schema.optional(Schema.Boolean)
}).pipe(strict)
export type ClaimRole = typeof ClaimRole.Type

export const PEER_TOKEN_HEADER = "x-repowire-peer-token"

/** The header that carries the local human credential (or the auth token) on registration. */
export const HUMAN_CREDENTIAL_HEADER = "x-repowire-human-credential"
