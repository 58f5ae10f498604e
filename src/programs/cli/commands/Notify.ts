import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const to = Args.text({ name: "to" }).pipe(Args.withDescription("peer name or id"))
const text = Args.text({ name: "text" })

export const notifyCommand = Command.make(
  "notify",
  { to, text, from: fromOption, json: jsonOption },
  ({ from, json, text, to }) =>
    runCommand(
      asCliPeer(from, (me, api) => api.messages.notify({ payload: { from_peer: me.peer_id, to_peer: to, text } })).pipe(
        Effect.flatMap((r) => (json ? printJson(r) : Console.log(`${r.id}\t${r.delivery}`))),
        Effect.provide(ClientLayer)
      )
    )
).pipe(Command.withDescription("Send a message to a peer"))
