import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import { decodeConfigValues, loadConfig, readConfigDocument, updateConfigFile } from "../../../layers/ConfigLive.js"
import { enableRelay } from "../../relay/Enable.js"
import { setupCommandOverride, setupCommandParts } from "../../setup/Command.js"
import { diffText } from "../../setup/Diff.js"
import { integrations } from "../../setup/Integrations.js"
import { applySetup, type Planned, planSetup, readState, writeState } from "../../setup/Plan.js"
import { shimPath, writeShim } from "../../setup/Shim.js"
import { runCommand } from "../Client.js"

export const dryRunOption = Options.boolean("dry-run").pipe(Options.withDescription("print the diff, change nothing"))
export const yesOption = Options.boolean("yes").pipe(
  Options.withAlias("y"),
  Options.withDescription("accept every default (setup never prompts)")
)
const httpMcp = Options.boolean("http-mcp").pipe(
  Options.withDescription("enable /mcp on the daemon and generate daemon.auth_token if there is none")
)
const relay = Options.text("relay").pipe(
  Options.withDescription("register at this relay (a fresh key) and enable the relay client"),
  Options.optional
)
const relayCa = Options.file("relay-ca", { exists: "yes" }).pipe(
  Options.withDescription("extra CA certificate to trust for the relay (a self-signed relay)"),
  Options.optional
)

const RELAY_KEYS = ["enabled", "url", "api_key", "daemon_id"].map((key) => ["relay", key])

export const printPlan = (planned: Planned, dryRun: boolean) =>
  Effect.gen(function*() {
    for (const c of planned.changes) {
      yield* Console.log(
        dryRun ? diffText(c.file.path, c.before, c.after) : `${c.integration.label}: updated ${c.file.path}`
      )
    }
    for (const u of planned.unchanged) yield* Console.log(`${u.integration.label}: ${u.file.path} already up to date`)
    for (const s of planned.skipped) {
      yield* Console.log(`${s.label}: not found (no \`${s.binary}\` on PATH, no ${s.configDir})`)
    }
  })

/** Config keys setup sets itself (the relay keys are written by the registration). */
const configChanges = (httpMcp: boolean, currentToken: string | null) => [
  ...(httpMcp ? [{ keyPath: ["daemon", "mcp_http", "enabled"], value: true as unknown }] : []),
  ...(httpMcp && currentToken === null
    ? [{ keyPath: ["daemon", "auth_token"], value: randomBytes(32).toString("base64url") }]
    : [])
]

export const setupCommand = Command.make(
  "setup",
  { dryRun: dryRunOption, httpMcp, relay, relayCa, yes: yesOption },
  ({ dryRun, httpMcp, relay, relayCa }) =>
    runCommand(Effect.gen(function*() {
      const config = yield* loadConfig()
      // A bad --relay URL stops setup before it changes anything.
      if (Option.isSome(relay)) yield* decodeConfigValues(config.paths, { relay: { url: relay.value } }, {})
      const planned = planSetup(integrations(os.homedir(), setupCommandParts(config.paths.home)))
      const usesShim = setupCommandOverride() === undefined
      if (usesShim && dryRun) {
        yield* Console.log(`${shimPath(config.paths.home)}: (re)written to run this install (dry run)`)
      }
      yield* printPlan(planned, dryRun)
      const changes = configChanges(httpMcp, config.values.daemon.auth_token)
      if (Option.isSome(relay)) {
        yield* Console.log(
          `${config.paths.configFile}: relay.* = a fresh key from ${relay.value}${dryRun ? " (dry run)" : ""}`
        )
      }
      for (const c of changes) {
        const shown = c.keyPath.join(".") === "daemon.auth_token" ? "<generated secret>" : JSON.stringify(c.value)
        yield* Console.log(`${config.paths.configFile}: ${c.keyPath.join(".")} = ${shown}${dryRun ? " (dry run)" : ""}`)
      }
      // A file setup cannot edit stops it before anything is written: never half an install.
      if (planned.errors.length > 0) {
        return yield* Effect.fail(new Error(`${planned.errors.join("; ")}; nothing was changed`))
      }
      if (!dryRun) {
        // config.yaml first: remember what each key held, so uninstall restores it.
        const touched = [...changes.map((c) => c.keyPath), ...(Option.isSome(relay) ? RELAY_KEYS : [])]
        if (touched.length > 0) {
          const doc = yield* readConfigDocument(config.paths)
          const previous = touched.map((keyPath) => ({
            keyPath,
            previous: doc.hasIn(keyPath) ? { value: doc.getIn(keyPath) as unknown } : null
          }))
          // The network step first: if the relay cannot be reached, nothing else has changed.
          if (Option.isSome(relay)) {
            const registered = yield* enableRelay({
              url: relay.value,
              ca: Option.getOrUndefined(Option.map(relayCa, (file) => fs.readFileSync(file)))
            })
            yield* Console.log(
              `relay: registered at ${relay.value} as ${registered.user_id}; ` +
                (registered.daemon_notified ? "the daemon is connecting" : "the daemon connects when it starts")
            )
          }
          if (changes.length > 0) yield* updateConfigFile(config.paths, changes)
          const state = readState(config.paths.home)
          const recorded = state.config ?? []
          const fresh = previous.filter((p) => !recorded.some((r) => r.keyPath.join(".") === p.keyPath.join(".")))
          writeState(config.paths.home, { ...state, config: [...recorded, ...fresh] })
        }
        // The shim first: the configs written next call it.
        if (usesShim && writeShim(config.paths.home)) {
          yield* Console.log(`${shimPath(config.paths.home)}: runs this install`)
        }
        applySetup(planned, config.paths.home)
        if (httpMcp) {
          yield* Console.log(
            `MCP over HTTP: http://${config.values.daemon.host}:${config.values.daemon.port}/mcp, ` +
              `bearer = daemon.auth_token in ${config.paths.configFile} (restart the daemon to apply)`
          )
        }
      }
    }))
).pipe(Command.withDescription("Install repowire's hooks and MCP server into each detected agent's config"))
