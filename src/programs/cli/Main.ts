import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Option } from "effect"
import { StderrLogger } from "../../layers/StderrLogger.js"
import { repowireHome } from "../../protocol/HomeFiles.js"
import { VERSION } from "../../Version.js"
import { repairShim } from "../setup/Shim.js"
import { ackCommand } from "./commands/Ack.js"
import { askCommand } from "./commands/Ask.js"
import { asksCommand } from "./commands/Asks.js"
import { broadcastCommand } from "./commands/Broadcast.js"
import { configCommand } from "./commands/ConfigCommand.js"
import { daemonCommand } from "./commands/Daemon.js"
import { doctorCommand } from "./commands/Doctor.js"
import { hookCommand } from "./commands/Hook.js"
import { mcpCommand } from "./commands/Mcp.js"
import { meshCommand } from "./commands/Mesh.js"
import { notifyCommand } from "./commands/Notify.js"
import { peerCommand } from "./commands/Peer.js"
import { peersCommand } from "./commands/Peers.js"
import { policyCommand } from "./commands/PolicyCommand.js"
import { relayCommand } from "./commands/Relay.js"
import { scheduleCommand } from "./commands/Schedule.js"
import { serveCommand } from "./commands/Serve.js"
import { serviceCommand } from "./commands/Service.js"
import { setupCommand } from "./commands/Setup.js"
import { statusCommand } from "./commands/Status.js"
import { uninstallCommand } from "./commands/Uninstall.js"

/**
 * A one-shot command's run is a span named after it. Not the long-running ones (serve, mcp,
 * hook, relay serve): every request they serve would sit under a span that never ends.
 */
const traced = <Name extends string, R, E, A>(name: string, command: Command.Command<Name, R, E, A>) =>
  Command.transformHandler(command, (effect) => Effect.withSpan(effect, `repowire ${name}`))

const root = Command.make("repowire").pipe(
  Command.withDescription("A mesh network for AI coding agents: ask, notify and broadcast between sessions"),
  Command.withSubcommands([
    serveCommand,
    traced("daemon", daemonCommand),
    traced("service", serviceCommand),
    traced("config", configCommand),
    traced("setup", setupCommand),
    traced("uninstall", uninstallCommand),
    traced("status", statusCommand),
    traced("doctor", doctorCommand),
    traced("peers", peersCommand),
    traced("peer", peerCommand),
    traced("ask", askCommand),
    traced("notify", notifyCommand),
    traced("broadcast", broadcastCommand),
    traced("ack", ackCommand),
    traced("asks", asksCommand),
    traced("schedule", scheduleCommand),
    mcpCommand,
    hookCommand,
    relayCommand,
    traced("policy", policyCommand),
    traced("mesh", meshCommand)
  ])
)

const cli = Command.run(root, { name: "repowire", version: VERSION })

const oneLine = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value as { message?: unknown; _tag?: unknown }
    if (typeof error.message === "string" && error.message !== "") return error.message
    return String(error._tag ?? failure.value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "unexpected failure"
}

/** A shim left pointing at a moved or removed install is pointed at this one (doctor only reports it). */
const healShim = (argv: ReadonlyArray<string>) =>
  Effect.sync(() => {
    if (argv[2] === "doctor") return
    try {
      repairShim(repowireHome())
    } catch {
      // best effort: `repowire doctor` reports a broken shim
    }
  })

export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.zipRight(healShim(argv), cli(argv)).pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      if (Option.exists(Cause.failureOption(cause), ValidationError.isValidationError)) return Effect.void
      return Console.error(`repowire: ${oneLine(cause)}`)
    }),
    Effect.provide(Layer.merge(NodeContext.layer, StderrLogger)),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
