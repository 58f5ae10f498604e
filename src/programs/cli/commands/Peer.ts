import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as path from "node:path"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const optional = <A, K extends string>(key: K, value: Option.Option<A>) =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) as { [P in K]: A } })

const newPeer = Command.make("new", {
  folder: Args.directory({ name: "path", exists: "yes" }),
  backend: Options.choice("backend", ["claude-code", "codex", "gemini", "opencode"]),
  circle: Options.text("circle").pipe(Options.withDescription("its circle and tmux session (default: default)"), Options.optional),
  message: Options.text("message").pipe(Options.withDescription("its first prompt"), Options.optional),
  from: fromOption,
  json: jsonOption
}, (o) =>
  runCommand(
    asCliPeer(o.from, (_, api) =>
      api.spawn.spawn({
        payload: { path: path.resolve(o.folder), backend: o.backend, ...optional("circle", o.circle), ...optional("message", o.message) }
      })).pipe(
        Effect.flatMap((s) =>
          o.json ? printJson(s) : Console.log(`${s.display_name}\t${s.peer_id}\t${s.circle}\t${s.tmux_session}:${s.tmux_window}`)
        ),
        Effect.provide(ClientLayer)
      )
  )).pipe(Command.withDescription("Start an agent in a new tmux window (needs daemon.spawn in config.yaml); prints its name"))

const kill = Command.make("kill", { peer: Args.text({ name: "name" }), from: fromOption }, ({ from, peer }) =>
  runCommand(
    asCliPeer(from, (_, api) => api.spawn.kill({ path: { ref: peer } })).pipe(
      Effect.flatMap((k) => Console.log(`${k.display_name} ${k.window_closed ? "killed" : "marked offline (window already gone)"}`)),
      Effect.provide(ClientLayer)
    )
  )).pipe(Command.withDescription("Close the tmux window of an agent this daemon spawned"))

export const peerCommand = Command.make("peer").pipe(
  Command.withDescription("Start, stop and give roles to agents"),
  Command.withSubcommands([newPeer, kill])
)
