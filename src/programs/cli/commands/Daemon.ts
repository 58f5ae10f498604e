import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { DaemonClientLive } from "../../../layers/DaemonClientLive.js"
import { readRuntime } from "../../../protocol/HomeFiles.js"
import { Config } from "../../../services/Config.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { ensureDaemon, stopDaemon } from "../../daemon/Launcher.js"
import { fail, withConfig } from "../CliError.js"

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

const start = Command.make("start", {}, () =>
  withConfig(Effect.gen(function*() {
    const { paths, values } = yield* Config
    yield* Console.error("starting the repowire daemon…")
    const result = yield* Effect.tryPromise({
      try: () => ensureDaemon(paths, values),
      catch: (e) => e instanceof Error ? e.message : String(e)
    }).pipe(Effect.catchAll(fail))
    const pid = readRuntime(paths)?.pid
    yield* Console.log(
      result.started
        ? `daemon started at ${result.baseUrl} (pid ${pid}); dashboard: ${result.baseUrl}/dashboard`
        : `daemon already running at ${result.baseUrl} (pid ${pid})`
    )
  }))).pipe(Command.withDescription("Start the daemon in the background (does nothing if it is running)"))

const stop = Command.make("stop", {}, () =>
  withConfig(Effect.gen(function*() {
    const { paths } = yield* Config
    const stopped = yield* Effect.promise(() => stopDaemon(paths))
    yield* Console.log(stopped ? "daemon stopped" : "daemon was not running")
  }))).pipe(Command.withDescription("Stop the background daemon"))

const status = Command.make("status", { json }, ({ json }) =>
  withConfig(
    Effect.gen(function*() {
      const { paths } = yield* Config
      const client = yield* DaemonClient
      const url = client.baseUrl
      const answer = yield* client.call((api) => api.health.health()).pipe(Effect.timeout("1 second"), Effect.option)
      if (Option.isNone(answer)) {
        return yield* fail(`daemon not running at ${url} (start it with: repowire daemon start)`)
      }
      const health = answer.value
      if (json) return yield* Console.log(JSON.stringify({ url, pid: readRuntime(paths)?.pid ?? null, ...health }))
      const { peers, relay } = health
      yield* Console.log(
        [
          `daemon ${health.version} at ${url} (pid ${readRuntime(paths)?.pid ?? "?"}), up ${health.uptime_s}s`,
          `peers: ${peers.online} online, ${peers.busy} busy, ${peers.offline} offline`,
          `relay: ${relay.status}${relay.last_error ? ` (${relay.last_error})` : ""}`
        ].join("\n")
      )
    }).pipe(Effect.provide(DaemonClientLive))
  )).pipe(Command.withDescription("Show whether the daemon runs, and its health"))

export const daemonCommand = Command.make("daemon").pipe(
  Command.withDescription("Manage the background daemon"),
  Command.withSubcommands([start, stop, status])
)
