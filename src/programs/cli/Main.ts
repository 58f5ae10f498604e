import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Logger, Option } from "effect"
import { VERSION } from "../../Version.js"
import { configCommand } from "./commands/ConfigCommand.js"
import { daemonCommand } from "./commands/Daemon.js"
import { serveCommand } from "./commands/Serve.js"

const root = Command.make("repowire").pipe(
  Command.withDescription("A mesh network for AI coding agents: ask, notify and broadcast between sessions"),
  Command.withSubcommands([serveCommand, daemonCommand, configCommand])
)

const cli = Command.run(root, { name: "repowire", version: VERSION })

/** Logs go to stderr: stdout carries command output (and MCP protocol). */
const StderrLogging = Layer.mergeAll(
  Logger.remove(Logger.defaultLogger),
  Logger.remove(Logger.prettyLoggerDefault),
  Logger.add(Logger.prettyLogger({ stderr: true, colors: false }))
)

const oneLine = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value as { message?: unknown; _tag?: unknown }
    if (typeof error.message === "string" && error.message !== "") return error.message
    return String(error._tag ?? failure.value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unexpected failure"
}

export const runCli = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      if (Option.exists(Cause.failureOption(cause), ValidationError.isValidationError)) return Effect.void
      return Console.error(`repowire: ${oneLine(cause)}`)
    }),
    Effect.provide(Layer.merge(NodeContext.layer, StderrLogging)),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
