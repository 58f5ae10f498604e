import { Command } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { loadConfig } from "../../../layers/ConfigLive.js"
import { DaemonClientLive } from "../../../layers/DaemonClientLive.js"
import { movedAsideStates } from "../../../layers/ForeignState.js"
import type { PolicyHealth } from "../../../protocol/Policy.js"
import { Config } from "../../../services/Config.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { readState } from "../../setup/Plan.js"
import { repowirePrograms, runs } from "../../setup/Runnable.js"
import { shimPath, shimState } from "../../setup/Shim.js"
import { runCommand } from "../Client.js"
import { otherLoginUsers } from "./LocalUsers.js"
import { collectStatus } from "./Status.js"

type Check = { readonly level: "ok" | "warn" | "fail"; readonly what: string }

const policyCheck = (policy: PolicyHealth): Check =>
  policy.status === "invalid"
    ? {
      level: "fail",
      what: `access rules: ${policy.error ?? "invalid"} (the daemon keeps its ${policy.rules} previous rule(s))`
    }
    : policy.status === "ok"
    ? { level: "ok", what: `access rules: ${policy.rules} rule(s) in force (repowire policy show)` }
    : { level: "ok", what: "access rules: none (policy.yaml absent; circles alone decide)" }

const tmuxVersion = () => {
  try {
    return execFileSync("tmux", ["-V"], { encoding: "utf8", timeout: 2000 }).trim()
  } catch {
    return null
  }
}

/** What an agent's config runs for repowire and no longer starts: a moved install, a removed shim. */
const brokenPrograms = (label: string, file: string, home: string): ReadonlyArray<Check> => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch {
    return []
  }
  return repowirePrograms(text).flatMap((program): ReadonlyArray<Check> => {
    if (program === shimPath(home)) {
      const shim = shimState(home)
      return shim.state === "ok" ? [] : [{
        level: "fail",
        what: `${label}: ${file} runs ${program}, which ${
          shim.state === "missing" ? "is missing" : shim.detail
        }; run \`repowire setup\``
      }]
    }
    return runs(program)
      ? []
      : [{ level: "fail", what: `${label}: ${file} runs ${program}, which does not run; run \`repowire setup\`` }]
  })
}

const shimCheck = (home: string): ReadonlyArray<Check> => {
  const shim = shimState(home)
  return shim.state === "ok"
    ? [{ level: "ok", what: `${shimPath(home)} runs ${shim.target.bin}` }]
    : shim.state === "broken"
    ? [{ level: "fail", what: `${shim.detail}; run \`repowire setup\` from the current install` }]
    : []
}

/** What `repowire setup` and the daemon took over from upstream repowire. */
const takenOver = (config: Config["Type"]): ReadonlyArray<Check> => [
  ...(readState(config.paths.home).takeover ?? []).map((t): Check => ({
    level: "ok",
    what: `taken over (upstream's, or an older setup's): ${t.file} (${t.entries.join("; ")}); its copy: ${t.backup}`
  })),
  ...movedAsideStates(config.paths.stateDb).map((f): Check => ({
    level: "ok",
    what: `upstream's state.db moved aside: ${f}`
  })),
  ...(config.upstream
    ? [{
      level: "warn" as const,
      what: `${config.paths.configFile} is upstream's: ${
        [...config.upstream.renamed.map((r) => `read ${r}`), ...config.upstream.ignored.map((k) => `ignored ${k}`)]
          .join(", ")
      }`
    }]
    : [])
]

export const doctorCommand = Command.make("doctor", {}, () =>
  runCommand(Effect.gen(function*() {
    const checks: Array<Check> = []
    const loaded = yield* Effect.either(loadConfig())
    if (loaded._tag === "Left") {
      checks.push({ level: "fail", what: `config: ${loaded.left.message}` })
    } else {
      const config = loaded.right
      const layer = DaemonClientLive.pipe(Layer.provideMerge(Layer.succeed(Config, config)))
      const status = yield* collectStatus.pipe(Effect.provide(layer))
      checks.push({ level: "ok", what: `config: ${config.paths.configFile}` })
      const mode = fs.statSync(config.paths.home).mode & 0o777
      checks.push(
        mode & 0o077
          ? { level: "fail", what: `${config.paths.home} is mode ${mode.toString(8)}; want 700` }
          : { level: "ok", what: `${config.paths.home} is private (700)` }
      )
      const others = otherLoginUsers()
      if (config.authToken === undefined && others.length > 0) {
        checks.push({
          level: "warn",
          what: `other accounts can log in here (${others.slice(0, 5).join(", ")}) and daemon.auth_token is not set: ` +
            "their programs can reach the daemon; set daemon.auth_token in config.yaml"
        })
      }
      if (status.daemon.running) {
        checks.push({ level: "ok", what: `daemon answers at ${status.daemon.url}` })
        const refused = yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.peers.list({ urlParams: {} })))
          .pipe(
            Effect.provide(layer),
            Effect.as(null),
            Effect.catchAll((e) => Effect.succeed(e.message))
          )
        checks.push(
          refused === null
            ? { level: "ok", what: "daemon accepts this machine's auth token" }
            : { level: "fail", what: `daemon refuses requests: ${refused}` }
        )
        const policy = yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.health.health())).pipe(
          Effect.provide(layer),
          Effect.map((h) => h.policy),
          Effect.option
        )
        if (policy._tag === "Some") checks.push(policyCheck(policy.value))
      } else {
        checks.push({
          level: "warn",
          what: `daemon not running (${status.daemon.error}); a SessionStart hook starts it`
        })
      }
      const tmux = tmuxVersion()
      checks.push(
        tmux
          ? { level: "ok", what: `${tmux}: live delivery into panes works` }
          : { level: "warn", what: "tmux not found: messages wait for the next hook instead of live delivery" }
      )
      for (const a of status.agents) {
        if (!a.detected) continue
        for (const f of a.files) {
          checks.push(
            f.state === "installed"
              ? { level: "ok", what: `${a.label}: ${f.path}` }
              : f.state === "unreadable"
              ? { level: "fail", what: `${a.label}: ${f.detail}` }
              : f.detail !== undefined
              ? { level: "warn", what: `${a.label}: ${f.path} has ${f.detail} (\`repowire setup\` replaces them)` }
              : { level: "warn", what: `${a.label}: ${f.path} lacks repowire's entries (run \`repowire setup\`)` }
          )
          checks.push(...brokenPrograms(a.label, f.path, config.paths.home))
        }
      }
      checks.push(...shimCheck(config.paths.home), ...takenOver(config))
    }
    for (const c of checks) {
      yield* Console.log(`${c.level === "ok" ? "ok  " : c.level === "warn" ? "warn" : "FAIL"}  ${c.what}`)
    }
    const failed = checks.filter((c) => c.level === "fail").length
    if (failed > 0) return yield* Effect.fail(new Error(`${failed} check(s) failed`))
  }))).pipe(Command.withDescription("Check that repowire is installed and working"))
