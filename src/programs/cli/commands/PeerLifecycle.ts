import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as path from "node:path"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { AGENT_BACKENDS, resolveIdentity } from "../../agent/Identity.js"
import { readSession } from "../../agent/Sessions.js"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { CliError } from "../CliError.js"
import { fromOption, jsonOption } from "./Ask.js"

const optional = <A, K extends string>(key: K, value: Option.Option<A>) =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) as { [P in K]: A } })

const newPeer = Command.make("new", {
  folder: Args.directory({ name: "path", exists: "yes" }),
  backend: Options.choice("backend", ["claude-code", "codex", "gemini", "opencode"]),
  circle: Options.text("circle").pipe(
    Options.withDescription("its circle and tmux session (default: default)"),
    Options.optional
  ),
  message: Options.text("message").pipe(Options.withDescription("its first prompt"), Options.optional),
  from: fromOption,
  json: jsonOption
}, (o) =>
  runCommand(
    asCliPeer(o.from, (_, api) =>
      api.spawn.spawn({
        payload: {
          path: path.resolve(o.folder),
          backend: o.backend,
          ...optional("circle", o.circle),
          ...optional("message", o.message)
        }
      })).pipe(
        Effect.flatMap((s) =>
          o.json
            ? printJson(s)
            : Console.log(`${s.display_name}\t${s.peer_id}\t${s.circle}\t${s.tmux_session}:${s.tmux_window}`)
        ),
        Effect.provide(ClientLayer)
      )
  )).pipe(
    Command.withDescription("Start an agent in a new tmux window (needs daemon.spawn in config.yaml); prints its name")
  )

const kill = Command.make(
  "kill",
  { peer: Args.text({ name: "name" }), from: fromOption },
  ({ from, peer }) =>
    runCommand(
      asCliPeer(from, (_, api) => api.spawn.kill({ path: { ref: peer } })).pipe(
        Effect.flatMap((k) =>
          Console.log(`${k.display_name} ${k.window_closed ? "killed" : "marked offline (window already gone)"}`)
        ),
        Effect.provide(ClientLayer)
      )
    )
).pipe(Command.withDescription("Close the tmux window of an agent this daemon spawned"))

/** The agent session of this terminal (its tmux pane, else its folder), as its hooks registered it. */
const thisSession = Effect.suspend(() => {
  for (const backend of AGENT_BACKENDS) {
    const session = readSession(resolveIdentity(backend).key)
    if (session !== null) return Effect.succeed(session)
  }
  return Effect.fail(
    new CliError({ message: "no agent session here: run this in an agent's terminal, or name the peer with --peer" })
  )
})

const claimRole = Command.make("claim-role", {
  role: Args.choice([["orchestrator", "orchestrator" as const], ["agent", "agent" as const]], { name: "role" }),
  peer: Options.text("peer").pipe(
    Options.withDescription("the peer to give the role (default: this terminal's agent)"),
    Options.optional
  ),
  circle: Options.text("circle").pipe(
    Options.withDescription("the circle it orchestrates (default: its own)"),
    Options.optional
  ),
  force: Options.boolean("force").pipe(Options.withDescription("take the role from a live holder")),
  from: fromOption,
  json: jsonOption
}, (o) => {
  const payload = { role: o.role, ...optional("circle", o.circle), ...(o.force ? { force: true } : {}) }
  const claimed = Effect.gen(function*() {
    // As a human (the cli peer), who may change any peer.
    if (Option.isSome(o.peer)) {
      const ref = o.peer.value
      return yield* asCliPeer(o.from, (_, api) => api.peers.claimRole({ path: { ref }, payload }))
    }
    // As the agent itself, with its own token.
    const me = yield* thisSession
    const client = yield* DaemonClient
    return yield* client.call((api) => api.peers.claimRole({ path: { ref: me.peer_id }, payload }), {
      peerToken: me.token
    })
  })
  return runCommand(
    claimed.pipe(
      Effect.flatMap((p) => o.json ? printJson(p) : Console.log(`${p.display_name}\t${p.role}\t${p.circle}`)),
      Effect.provide(ClientLayer)
    )
  )
}).pipe(
  Command.withDescription(
    "Make an agent the orchestrator of a circle (one per circle unless --force); `agent` gives it back"
  )
)

/** `repowire peer new | kill | claim-role`: the agent lifecycle. */
export const lifecycleSubcommands = [newPeer, kill, claimRole] as const
