import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { loadConfig, readConfigDocument, updateConfigFile } from "../../../layers/ConfigLive.js"
import { setupCommandParts } from "../../setup/Command.js"
import { integrations } from "../../setup/Integrations.js"
import { applyUninstall, planUninstall, readState, writeState } from "../../setup/Plan.js"
import { removeShim, shimPath } from "../../setup/Shim.js"
import { runCommand } from "../Client.js"
import { dryRunOption, printPlan, yesOption } from "./Setup.js"

export const uninstallCommand = Command.make(
  "uninstall",
  { dryRun: dryRunOption, yes: yesOption },
  ({ dryRun }) =>
    runCommand(Effect.gen(function*() {
      const config = yield* loadConfig()
      const planned = planUninstall(integrations(os.homedir(), setupCommandParts(config.paths.home)), config.paths.home)
      yield* printPlan({ ...planned, unchanged: [] }, dryRun)
      const restored = readState(config.paths.home).config ?? []
      for (const r of restored) {
        yield* Console.log(`${config.paths.configFile}: ${r.keyPath.join(".")} restored${dryRun ? " (dry run)" : ""}`)
      }
      if (planned.errors.length > 0) {
        return yield* Effect.fail(new Error(`${planned.errors.join("; ")}; nothing was changed`))
      }
      const shimThere = fs.existsSync(shimPath(config.paths.home))
      if (shimThere) yield* Console.log(`${shimPath(config.paths.home)}: removed${dryRun ? " (dry run)" : ""}`)
      if (!dryRun) {
        applyUninstall(planned, config.paths.home)
        removeShim(config.paths.home)
        if (restored.length > 0) {
          yield* updateConfigFile(
            config.paths,
            restored.map((r) => ({ keyPath: r.keyPath, value: r.previous === null ? undefined : r.previous.value }))
          )
          // Sections setup created and that are now empty go too (deepest first).
          const doc = yield* readConfigDocument(config.paths)
          const parents = [
            ...new Set(
              restored.flatMap((r) => r.keyPath.slice(0, -1).map((_, i) => r.keyPath.slice(0, i + 1).join(".")))
            )
          ]
            .sort((a, b) => b.split(".").length - a.split(".").length)
          const empty: Array<ReadonlyArray<string>> = []
          for (const p of parents) {
            const keyPath = p.split(".")
            const node = doc.getIn(keyPath) as { items?: ReadonlyArray<unknown> } | undefined
            const nested = empty.filter((e) =>
              e.length === keyPath.length + 1 && e.join(".").startsWith(p + ".")
            ).length
            if (node && Array.isArray(node.items) && node.items.length === nested) empty.push(keyPath)
          }
          if (empty.length > 0) {
            yield* updateConfigFile(config.paths, empty.map((keyPath) => ({ keyPath, value: undefined })))
          }
          writeState(config.paths.home, { ...readState(config.paths.home), config: [] })
        }
      }
      if (planned.changes.length === 0 && restored.length === 0 && !shimThere) {
        yield* Console.log("nothing of repowire's is installed")
      }
    }))
).pipe(Command.withDescription("Remove exactly what `repowire setup` added"))
