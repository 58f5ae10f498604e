import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { HOOK_EVENTS } from "../../../protocol/HookPayload.js"
import { AGENT_BACKENDS } from "../../agent/Identity.js"
import { runHook } from "../../hook/Main.js"

const event = Args.text({ name: "event" }).pipe(
  Args.withDescription(`${HOOK_EVENTS.join(" | ")} (or the runtime's own event name); hook JSON on stdin`)
)
const backend = Options.choice("backend", AGENT_BACKENDS).pipe(Options.withDefault("claude-code" as const))

/**
 * Only reached for `--help`: bin.ts sends `repowire hook …` straight to hook/Main.ts without
 * loading this tree, for start-up time.
 */
export const hookCommand = Command.make(
  "hook",
  { backend, event },
  ({ backend, event }) =>
    Effect.promise(() => runHook([event, "--backend", backend])).pipe(
      Effect.flatMap((code) => Effect.sync(() => void (process.exitCode = code)))
    )
).pipe(Command.withDescription("Agent hook entry (SessionStart, UserPromptSubmit, PostToolUse, Stop, SessionEnd)"))
