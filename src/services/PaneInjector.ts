import { Context, Data, type Effect } from "effect"

export class InjectError extends Data.TaggedError("InjectError")<{ readonly pane: string; readonly message: string }> {}

/** Where a pane lives: its id (%N) and, when not the default, the tmux server socket. */
export interface PaneTarget {
  readonly pane: string
  readonly socket: string | null
}

/**
 * Types text into an agent's terminal pane as one bracketed paste followed by Enter, and
 * confirms it landed. Injections into one pane never interleave.
 */
export class PaneInjector extends Context.Tag("repowire/PaneInjector")<PaneInjector, {
  readonly inject: (target: PaneTarget, text: string) => Effect.Effect<void, InjectError>
  readonly exists: (target: PaneTarget) => Effect.Effect<boolean>
}>() {}
