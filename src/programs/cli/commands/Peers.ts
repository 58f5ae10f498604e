import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { peersText } from "../../mcp/Format.js"
import { ClientLayer, printJson, runCommand } from "../Client.js"

const all = Options.boolean("all").pipe(Options.withDescription("include offline peers"))
const json = Options.boolean("json").pipe(Options.withDescription("print the daemon's /peers body as JSON"))
const circle = Options.text("circle").pipe(Options.withDescription("only this circle"), Options.optional)

export const peersConfig = { all, circle, json }

export const listPeers = ({ all, circle, json }: Command.Command.ParseConfig<typeof peersConfig>) =>
  runCommand(
    Effect.flatMap(DaemonClient, (c) =>
      c.call((api) =>
        api.peers.list({
          urlParams: { ...(all ? { all: true } : {}), ...(circle._tag === "Some" ? { circle: circle.value } : {}) }
        })
      )).pipe(Effect.flatMap((body) => (json ? printJson(body) : Console.log(peersText(body.peers, undefined)))))
      .pipe(Effect.provide(ClientLayer))
  )

export const peersCommand = Command.make("peers", peersConfig, listPeers).pipe(
  Command.withDescription("List the peers on the mesh")
)
