import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import * as YAML from "yaml"
import { Config } from "../../../services/Config.js"
import { withConfig } from "../CliError.js"

const REDACTED = "********"

const show = Command.make("show", { json: Options.boolean("json").pipe(Options.withDescription("Print JSON")) }, ({
  json
}) =>
  withConfig(Effect.gen(function*() {
    const { values } = yield* Config
    const shown = {
      ...values,
      daemon: { ...values.daemon, auth_token: values.daemon.auth_token === null ? null : REDACTED },
      relay: {
        ...values.relay,
        api_key: values.relay.api_key === null ? null : REDACTED,
        database_url: values.relay.database_url === null ? null : REDACTED
      }
    }
    yield* Console.log(json ? JSON.stringify(shown, null, 2) : YAML.stringify(shown).trimEnd())
  }))).pipe(Command.withDescription("Print the effective configuration (file + environment), secrets hidden"))

const where = Command.make(
  "path",
  {},
  () => withConfig(Effect.flatMap(Config, ({ paths }) => Console.log(paths.configFile)))
).pipe(
  Command.withDescription("Print the path of config.yaml")
)

export const configCommand = Command.make("config").pipe(
  Command.withDescription("Show the configuration"),
  Command.withSubcommands([show, where])
)
