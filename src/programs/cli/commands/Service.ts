import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import { Config } from "../../../services/Config.js"
import { stopDaemon } from "../../daemon/Launcher.js"
import { run, type ServiceManager, serviceManager, writeServiceFile } from "../../service/Manager.js"
import { shimPath, writeShim } from "../../setup/Shim.js"
import { type CliError, fail, withConfig } from "../CliError.js"
import { dryRunOption } from "./Setup.js"

const withManager = <A, E, R>(f: (m: ServiceManager) => Effect.Effect<A, E, R>) =>
  Effect.suspend((): Effect.Effect<A, E | CliError, R> => {
    const m = serviceManager()
    return typeof m === "string" ? fail(m) : f(m)
  })

const runAll = (steps: ReadonlyArray<ReadonlyArray<string>>, tolerate = false) =>
  Effect.forEach(steps, (argv) =>
    Effect.suspend(() => {
      const r = run(argv)
      return r.ok || tolerate ? Effect.void : fail(`${argv.join(" ")} failed: ${r.out.split("\n")[0]}`)
    }), { discard: true })

const install = Command.make("install", { dryRun: dryRunOption }, ({ dryRun }) =>
  withConfig(Effect.gen(function*() {
    const { paths } = yield* Config
    yield* withManager((m) =>
      Effect.gen(function*() {
        const text = m.text({ shim: shimPath(paths.home), home: paths.home, logFile: paths.logFile })
        if (dryRun) return yield* Console.log(`# ${m.file} (${m.name})\n${text}`)
        const why = m.unavailable()
        if (why !== undefined) return yield* fail(why)
        writeShim(paths.home)
        // A daemon started by hand holds the port the service's would need.
        if (yield* Effect.promise(() => stopDaemon(paths))) {
          yield* Console.log("stopped the background daemon; the service runs it now")
        }
        writeServiceFile(m.file, text)
        yield* runAll(m.afterInstall)
        yield* Console.log(`${m.file}: installed and started (${m.name})`)
      })
    )
  }))).pipe(
    Command.withDescription(
      "Run the daemon as a service (systemd --user on Linux, launchd on macOS); --dry-run prints the file"
    )
  )

const uninstall = Command.make(
  "uninstall",
  { dryRun: dryRunOption },
  ({ dryRun }) =>
    withConfig(withManager((m) =>
      Effect.gen(function*() {
        if (!fs.existsSync(m.file)) return yield* Console.log(`${m.file}: not installed`)
        if (dryRun) return yield* Console.log(`${m.file}: would be stopped and removed (dry run)`)
        yield* runAll(m.beforeUninstall, true)
        fs.rmSync(m.file, { force: true })
        yield* runAll(m.afterUninstall, true)
        yield* Console.log(`${m.file}: stopped and removed`)
      })
    ))
).pipe(Command.withDescription("Stop the service and remove its file"))

const status = Command.make("status", {}, () =>
  withConfig(withManager((m) =>
    Effect.gen(function*() {
      if (!fs.existsSync(m.file)) return yield* fail(`${m.file}: not installed (repowire service install)`)
      const why = m.unavailable()
      if (why !== undefined) return yield* fail(`${m.file} is installed, but ${why}`)
      const r = run(m.status)
      yield* Console.log(`${m.file} (${m.name})\n${r.out}`)
      if (!r.ok) return yield* fail("the service is not running")
    })
  ))).pipe(Command.withDescription("Whether the service is installed and running"))

const restart = Command.make(
  "restart",
  { dryRun: dryRunOption },
  ({ dryRun }) =>
    withConfig(withManager((m) =>
      Effect.gen(function*() {
        if (!fs.existsSync(m.file)) return yield* fail(`${m.file}: not installed (repowire service install)`)
        if (dryRun) return yield* Console.log(`would run: ${m.restart.join(" ")}`)
        const why = m.unavailable()
        if (why !== undefined) return yield* fail(why)
        yield* runAll([m.restart])
        yield* Console.log("service restarted")
      })
    ))
).pipe(Command.withDescription("Restart the service (after an upgrade, or a change to config.yaml)"))

export const serviceCommand = Command.make("service").pipe(
  Command.withDescription("The daemon as a service: install | uninstall | status | restart"),
  Command.withSubcommands([install, uninstall, status, restart])
)
