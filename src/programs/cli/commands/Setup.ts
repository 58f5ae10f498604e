import { Command, Options } from "@effect/cli"
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import { Console, Effect, Option } from "effect"
import { loadConfig, readConfigDocument, updateConfigFile } from "../../../layers/ConfigLive.js"
import { setupCommandParts } from "../../setup/Command.js"
import { diffText } from "../../setup/Diff.js"
import { integrations } from "../../setup/Integrations.js"
import { applySetup, type Planned, planSetup, readState, writeState } from "../../setup/Plan.js"
import { runCommand } from "../Client.js"

export const dryRunOption = Options.boolean("dry-run").pipe(Options.withDescription("print the diff, change nothing"))
export const yesOption = Options.boolean("yes").pipe(
  Options.withAlias("y"),
  Options.withDescription("accept every default (setup never prompts)")
)
const httpMcp = Options.boolean("http-mcp").pipe(
  Options.withDescription("enable /mcp on the daemon and generate daemon.auth_token if there is none")
)
const relay = Options.text("relay").pipe(Options.withDescription("enable the relay client with this URL"), Options.optional)

export const printPlan = (planned: Planned, dryRun: boolean) =>
  Effect.gen(function*() {
    for (const c of planned.changes) {
      yield* Console.log(dryRun ? diffText(c.file.path, c.before, c.after) : `${c.integration.label}: updated ${c.file.path}`)
    }
    for (const u of planned.unchanged) yield* Console.log(`${u.integration.label}: ${u.file.path} already up to date`)
    for (const s of planned.skipped) yield* Console.log(`${s.label}: not found (no \`${s.binary}\` on PATH, no ${s.configDir})`)
  })

/** Config keys setup sets, remembered with their previous values so uninstall restores them. */
const configChanges = (httpMcp: boolean, relay: Option.Option<string>, currentToken: string | null) => [
  ...(httpMcp ? [{ keyPath: ["daemon", "mcp_http", "enabled"], value: true as unknown }] : []),
  ...(httpMcp && currentToken === null ? [{ keyPath: ["daemon", "auth_token"], value: randomBytes(32).toString("base64url") }] : []),
  ...(Option.isSome(relay)
    ? [{ keyPath: ["relay", "enabled"], value: true as unknown }, { keyPath: ["relay", "url"], value: relay.value as unknown }]
    : [])
]

export const setupCommand = Command.make(
  "setup",
  { dryRun: dryRunOption, httpMcp, relay, yes: yesOption },
  ({ dryRun, httpMcp, relay }) =>
    runCommand(Effect.gen(function*() {
      const config = yield* loadConfig()
      const planned = planSetup(integrations(os.homedir(), setupCommandParts()))
      yield* printPlan(planned, dryRun)
      const changes = configChanges(httpMcp, relay, config.values.daemon.auth_token)
      for (const c of changes) {
        const shown = c.keyPath.join(".") === "daemon.auth_token" ? "<generated secret>" : JSON.stringify(c.value)
        yield* Console.log(`${config.paths.configFile}: ${c.keyPath.join(".")} = ${shown}${dryRun ? " (dry run)" : ""}`)
      }
      if (!dryRun) {
        // config.yaml first: updateConfigFile validates, so a bad --relay URL changes nothing at all.
        if (changes.length > 0) {
          const doc = yield* readConfigDocument(config.paths)
          const previous = changes.map((c) => ({
            keyPath: c.keyPath,
            previous: doc.hasIn(c.keyPath) ? { value: doc.getIn(c.keyPath) as unknown } : null
          }))
          yield* updateConfigFile(config.paths, changes)
          const state = readState(config.paths.home)
          const recorded = state.config ?? []
          const fresh = previous.filter((p) => !recorded.some((r) => r.keyPath.join(".") === p.keyPath.join(".")))
          writeState(config.paths.home, { ...state, config: [...recorded, ...fresh] })
        }
        applySetup(planned, config.paths.home)
        if (httpMcp) {
          yield* Console.log(
            `MCP over HTTP: http://${config.values.daemon.host}:${config.values.daemon.port}/mcp, ` +
              `bearer = daemon.auth_token in ${config.paths.configFile} (restart the daemon to apply)`
          )
        }
      }
      if (planned.errors.length > 0) return yield* Effect.fail(new Error(planned.errors.join("; ")))
    }))
).pipe(Command.withDescription("Install repowire's hooks and MCP server into each detected agent's config"))
