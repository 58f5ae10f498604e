import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { schedulesText } from "../../mcp/Format.js"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const to = Args.text({ name: "to" }).pipe(Args.withDescription("peer name or id"))
const text = Args.text({ name: "text" })
const at = Options.text("at").pipe(
  Options.withDescription("when: ISO 8601 (UTC unless it has an offset) or relative: 30s, 10m, 2h, 1d"),
  Options.optional
)
const cron = Options.text("cron").pipe(
  Options.withDescription("repeat: five cron fields (UTC) or @hourly, @daily, @weekly, @monthly"),
  Options.optional
)
const kind = Options.choice("kind", ["notify", "ask"]).pipe(Options.withDefault("notify" as const))
const circle = Options.text("circle").pipe(Options.withDescription("the circle to find <to> in"), Options.optional)

const add = Command.make(
  "add",
  { to, text, at, cron, kind, circle, from: fromOption, json: jsonOption },
  (o) =>
    runCommand(
      asCliPeer(o.from, (me, api) =>
        api.schedules.create({
          payload: {
            from_peer: me.peer_id,
            to_peer: o.to,
            text: o.text,
            kind: o.kind,
            ...Option.match(o.at, { onNone: () => ({}), onSome: (value) => ({ at: value }) }),
            ...Option.match(o.cron, { onNone: () => ({}), onSome: (value) => ({ cron: value }) }),
            ...Option.match(o.circle, { onNone: () => ({}), onSome: (value) => ({ circle: value }) })
          }
        })).pipe(
          Effect.flatMap((s) => (o.json ? printJson(s) : Console.log(`${s.id}\t${s.next_fire_at}`))),
          Effect.provide(ClientLayer)
        )
    )
).pipe(Command.withDescription("Schedule a message (--at WHEN or --cron EXPR); prints the schedule id"))

const list = Command.make("list", { from: fromOption, json: jsonOption }, ({ from, json }) =>
  runCommand(
    asCliPeer(from, (_, api) => api.schedules.list({ urlParams: {} })).pipe(
      Effect.flatMap((body) => (json ? printJson(body) : Console.log(schedulesText(body.schedules)))),
      Effect.provide(ClientLayer)
    )
  )).pipe(Command.withDescription("List every schedule, soonest first (times are UTC)"))

const rm = Command.make("rm", { id: Args.text({ name: "id" }), from: fromOption }, ({ from, id }) =>
  runCommand(
    asCliPeer(from, (_, api) => api.schedules.remove({ path: { id } })).pipe(
      Effect.flatMap((s) => Console.log(`${s.id} deleted`)),
      Effect.provide(ClientLayer)
    )
  )).pipe(Command.withDescription("Delete a schedule"))

export const scheduleCommand = Command.make("schedule").pipe(
  Command.withDescription("Messages sent later or on a cron, kept by the daemon across restarts"),
  Command.withSubcommands([add, list, rm])
)
