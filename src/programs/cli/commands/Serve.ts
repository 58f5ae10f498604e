import { Command } from "@effect/cli"
import { Effect, Layer } from "effect"
import { DatabaseInUse } from "../../../layers/Sqlite.js"
import { Config } from "../../../services/Config.js"
import { DaemonLive, logLevelOf } from "../../daemon/Server.js"
import { fail, withConfig } from "../CliError.js"

/** One line at start: what of upstream's config.yaml this daemon does not use. */
export const upstreamConfigLine = (config: Config["Type"]): string | undefined =>
  config.upstream === undefined
    ? undefined
    : `${config.paths.configFile} is upstream repowire's: ` +
      (config.upstream.renamed.length > 0 ? `read ${config.upstream.renamed.join(", ")}; ` : "") +
      (config.upstream.ignored.length > 0 ? `ignored ${config.upstream.ignored.join(", ")}` : "nothing ignored")

const runDaemon = (config: Config["Type"]) =>
  Effect.zipRight(
    Effect.suspend(() => {
      const line = upstreamConfigLine(config)
      return line === undefined ? Effect.void : Effect.logWarning(line)
    }),
    Layer.launch(DaemonLive)
  ).pipe(
    // Nothing exports the daemon's spans; creating one per query and request costs a fifth of
    // the time of a database round trip.
    Effect.withTracerEnabled(false),
    Effect.provideService(Config, config),
    Effect.provide(logLevelOf(config.values.logging.level)),
    Effect.catchAll((error) => {
      if (error instanceof DatabaseInUse) return fail(error.message)
      const text = String((error as { cause?: unknown }).cause ?? error)
      return /EADDRINUSE/.test(text)
        ? fail(`port ${config.values.daemon.port} is in use: is a daemon already running? (repowire daemon status)`)
        : fail(`the daemon could not start: ${text}`)
    })
  )

export const serveCommand = Command.make("serve", {}, () => withConfig(Effect.flatMap(Config, runDaemon))).pipe(
  Command.withDescription("Run the daemon in the foreground (HTTP API, /ws, dashboard on 127.0.0.1)")
)
