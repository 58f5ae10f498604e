import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Option } from "effect"
import { ackCommand } from "./commands/Ack.js"
import { askCommand } from "./commands/Ask.js"
import { asksCommand } from "./commands/Asks.js"
import { broadcastCommand } from "./commands/Broadcast.js"
import { doctorCommand } from "./commands/Doctor.js"
import { hookCommand } from "./commands/Hook.js"
import { mcpCommand } from "./commands/Mcp.js"
import { notifyCommand } from "./commands/Notify.js"
import { peersCommand } from "./commands/Peers.js"
import { setupCommand } from "./commands/Setup.js"
import { statusCommand } from "./commands/Status.js"
import { uninstallCommand } from "./commands/Uninstall.js"

// The agents branch wires its client commands here; the lead's root command on main replaces this.
const root = Command.make("repowire").pipe(
  Command.withSubcommands([
    peersCommand,
    askCommand,
    notifyCommand,
    broadcastCommand,
    ackCommand,
    asksCommand,
    mcpCommand,
    hookCommand,
    setupCommand,
    uninstallCommand,
    statusCommand,
    doctorCommand
  ])
)

const cli = Command.run(root, { name: "repowire", version: "0.1.0" })

const alreadyReported = (cause: Cause.Cause<unknown>) =>
  Cause.isInterruptedOnly(cause) || Option.exists(Cause.failureOption(cause), ValidationError.isValidationError)

export const runCli = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.tapErrorCause((cause) => (alreadyReported(cause) ? Effect.void : Effect.logError(cause))),
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
