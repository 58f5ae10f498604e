import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"

export const fromOption = Options.text("from").pipe(
  Options.withDescription("send as this named cli identity (default: cli)"),
  Options.withDefault("cli")
)
export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print the daemon's answer as JSON"))
const to = Args.text({ name: "to" }).pipe(Args.withDescription("peer name or id"))
const text = Args.text({ name: "text" })
const replyTo = Options.text("reply-to").pipe(Options.withDescription("the ask id this follows up"), Options.optional)

export const askConfig = { to, text, from: fromOption, json: jsonOption, replyTo }

export const sendAsk = ({ from, json, replyTo, text, to }: Command.Command.ParseConfig<typeof askConfig>) =>
  runCommand(
    asCliPeer(from, (me, api) =>
      api.messages.ask({
        payload: {
          from_peer: me.peer_id,
          to_peer: to,
          text,
          ...(replyTo._tag === "Some" ? { reply_to: replyTo.value } : {})
        }
      })).pipe(
        Effect.flatMap((r) => (json ? printJson(r) : Console.log(`${r.correlation_id}\t${r.delivery}`))),
        Effect.provide(ClientLayer)
      )
  )

export const askCommand = Command.make("ask", askConfig, sendAsk).pipe(
  Command.withDescription("Ask a peer a question; prints the ask id (answer arrives with `repowire asks`)")
)
