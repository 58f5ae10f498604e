import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { asksText } from "../../mcp/Format.js"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const open = Options.boolean("open").pipe(Options.withDescription("only open asks (neither acked nor failed)"))
const all = Options.boolean("all").pipe(Options.withDescription("every peer's asks, not only this cli identity's"))

export const asksConfig = { all, from: fromOption, json: jsonOption, open }

export const listAsks = ({ all, from, json, open }: Command.Command.ParseConfig<typeof asksConfig>) =>
  runCommand(
    asCliPeer(from, (me, api) =>
      api.asks.list({ urlParams: { ...(all ? {} : { peer: me.peer_id }), ...(open ? { open: true } : {}) } })).pipe(
        Effect.flatMap((body) => (json ? printJson(body) : Console.log(asksText(body.asks)))),
        Effect.provide(ClientLayer)
      )
  )

export const asksCommand = Command.make("asks", asksConfig, listAsks).pipe(
  Command.withDescription("List asks sent or received by this cli identity (--all: every peer's)")
)
