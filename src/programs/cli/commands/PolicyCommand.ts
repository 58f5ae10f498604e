import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { MCP_TOOLS, POLICY_ACTIONS, type PolicyView } from "../../../protocol/Policy.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { ClientLayer, printJson, runCommand } from "../Client.js"
import { fail } from "../CliError.js"

const json = Options.boolean("json").pipe(Options.withDescription("print the daemon's answer as JSON"))

const viewText = (view: PolicyView) => {
  const lines = [
    `policy: ${view.status}${view.path !== "" ? ` (${view.path})` : ""}`,
    ...(view.error !== undefined ? [`error: ${view.error} — the rules below stay in force`] : []),
    ...(view.status === "none"
      ? ["no policy.yaml: circles alone decide who reaches whom"]
      : [...view.rules_in_force.map((r) => `${r.index}. ${r.text}`), `default: ${view.default}`])
  ]
  return lines.join("\n")
}

const show = Command.make("show", { json }, ({ json }) =>
  runCommand(
    Effect.flatMap(DaemonClient, (c) => c.call((api) => api.policy.show())).pipe(
      Effect.flatMap((view) => (json ? printJson(view) : Console.log(viewText(view)))),
      Effect.provide(ClientLayer)
    )
  )).pipe(Command.withDescription("Show the access rules the running daemon enforces (policy.yaml), in order"))

const from = Options.text("from").pipe(Options.withDescription("the calling peer (name or id)"))
const to = Options.text("to").pipe(Options.withDescription("the target peer (name or id)"), Options.optional)
const action = Options.choice("action", POLICY_ACTIONS).pipe(
  Options.withDescription("what the caller does to the target"),
  Options.optional
)
const tool = Options.choice("tool", MCP_TOOLS).pipe(
  Options.withDescription("an MCP tool the caller uses"),
  Options.optional
)
const via = Options.choice("via", ["local", "relay"] as const).pipe(
  Options.withDescription("how the request arrives (default local)"),
  Options.optional
)

const check = Command.make("check", { from, to, action, tool, via, json }, (o) =>
  runCommand(
    Effect.gen(function*() {
      if (Option.isSome(o.tool) === Option.isSome(o.action)) {
        return yield* fail("give either --action (with --to) or --tool")
      }
      const client = yield* DaemonClient
      const answer = yield* client.call((api) =>
        api.policy.check({
          payload: {
            from: o.from,
            ...Option.match(o.to, { onNone: () => ({}), onSome: (to) => ({ to }) }),
            ...Option.match(o.action, { onNone: () => ({}), onSome: (action) => ({ action }) }),
            ...Option.match(o.tool, { onNone: () => ({}), onSome: (tool) => ({ tool }) }),
            ...Option.match(o.via, { onNone: () => ({}), onSome: (via) => ({ via }) })
          }
        })
      )
      yield* o.json ? printJson(answer) : Console.log(`${answer.decision}: ${answer.reason}`)
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(
    Command.withDescription(
      "What the access rules decide for one caller: --from A --to B --action ask, or --from A --tool broadcast. " +
        "Prints allow or deny and the deciding rule (or the default); exits 0 either way"
    )
  )

export const policyCommand = Command.make("policy").pipe(
  Command.withDescription("The access rules in $REPOWIRE_HOME/policy.yaml: who may ask, notify or broadcast whom"),
  Command.withSubcommands([show, check])
)
