import { Schema } from "effect"
import { MessageText } from "./Message.js"
import { Circle } from "./Peer.js"
import { strict } from "./Strict.js"

export const SpawnBackend = Schema.Literal("claude-code", "codex", "gemini", "opencode")
export type SpawnBackend = typeof SpawnBackend.Type

export const SpawnRequest = Schema.Struct({
  /** The folder the agent works in; it must lie under daemon.spawn.allowed_paths. */
  path: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)),
  backend: SpawnBackend,
  /** Its circle and tmux session; default: the caller's circle. */
  circle: Schema.optional(Circle),
  /** Queued for the new peer at once: the agent gets it as its first prompt when it is up. */
  message: Schema.optional(MessageText)
}).pipe(strict)
export type SpawnRequest = typeof SpawnRequest.Type

export const Spawned = Schema.Struct({
  peer_id: Schema.String,
  display_name: Schema.String,
  circle: Schema.String,
  path: Schema.String,
  tmux_session: Schema.String,
  tmux_window: Schema.String,
  tmux_pane: Schema.String
})
export type Spawned = typeof Spawned.Type

export const Killed = Schema.Struct({
  peer_id: Schema.String,
  display_name: Schema.String,
  /** False when the window had already gone. */
  window_closed: Schema.Boolean
})
export type Killed = typeof Killed.Type
