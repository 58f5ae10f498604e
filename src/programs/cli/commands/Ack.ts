import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const correlationId = Args.text({ name: "correlation_id" }).pipe(Args.withDescription("the ask id (ask-…)"))
const message = Args.text({ name: "message" }).pipe(Args.withDescription("your reply"), Args.optional)

export const ackConfig = { correlationId, from: fromOption, json: jsonOption, message }

export const sendAck = ({ correlationId, from, json, message }: Command.Command.ParseConfig<typeof ackConfig>) =>
  runCommand(
    asCliPeer(from, (_me, api) =>
      api.messages.ack({
        payload: { correlation_id: correlationId, ...(message._tag === "Some" ? { message: message.value } : {}) }
      })).pipe(
        Effect.flatMap((
          r
        ) => (json
          ? printJson(r)
          : Console.log(`${r.correlation_id}\tacked${r.reply ? `\treply ${r.reply.delivery}` : ""}`))
        ),
        Effect.provide(ClientLayer)
      )
  )

export const ackCommand = Command.make("ack", ackConfig, sendAck).pipe(
  Command.withDescription("Close an ask, optionally with a reply")
)
