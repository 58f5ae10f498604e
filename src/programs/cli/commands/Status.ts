import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { Config } from "../../../services/Config.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { setupCommandParts } from "../../setup/Command.js"
import { inspect } from "../../setup/Inspect.js"
import { integrations } from "../../setup/Integrations.js"
import { ClientLayer, printJson, runCommand } from "../Client.js"

const json = Options.boolean("json").pipe(Options.withDescription("print the status as JSON"))

export const collectStatus = Effect.gen(function*() {
  const config = yield* Config
  const client = yield* DaemonClient
  const health = yield* client.call((api) => api.health.health()).pipe(
    Effect.map((h) => ({ running: true as const, ...h })),
    Effect.catchAll((e) => Effect.succeed({ running: false as const, error: e.message }))
  )
  let sessions = 0
  try {
    sessions = fs.readdirSync(config.paths.sessionsDir).filter((f) => f.endsWith(".json")).length
  } catch {
    sessions = 0
  }
  return {
    home: config.paths.home,
    config_file: config.paths.configFile,
    daemon: { url: client.baseUrl, ...health },
    mcp_http: config.values.daemon.mcp_http.enabled,
    auth_token: config.values.daemon.auth_token !== null,
    relay: { enabled: config.values.relay.enabled, url: config.values.relay.url },
    sessions,
    agents: inspect(integrations(os.homedir(), setupCommandParts(config.paths.home)))
  }
})

export const statusCommand = Command.make("status", { json }, ({ json }) =>
  runCommand(
    collectStatus.pipe(
      Effect.flatMap((s) =>
        json ? printJson(s) : Console.log([
          `home: ${s.home}`,
          s.daemon.running
            ? `daemon: running at ${s.daemon.url} (version ${s.daemon.version}, up ${
              Math.round(s.daemon.uptime_s)
            }s, ` +
              `${s.daemon.peers.online} online, ${s.daemon.peers.busy} busy, relay ${s.daemon.relay.status})`
            : `daemon: not running (${s.daemon.error})`,
          `mcp over http: ${s.mcp_http ? "enabled" : "disabled"}; auth token: ${s.auth_token ? "set" : "not set"}`,
          `relay client: ${s.relay.enabled ? `enabled (${s.relay.url})` : "disabled"}`,
          `sessions on this machine: ${s.sessions}`,
          ...s.agents.map((a) =>
            `${a.label}: ${a.detected ? "found" : "not found"}; ` +
            a.files.map((f) => `${f.path} ${f.state}`).join(", ")
          )
        ].join("\n"))
      ),
      Effect.provide(ClientLayer)
    )
  )).pipe(Command.withDescription("What repowire has installed and whether the daemon runs"))
