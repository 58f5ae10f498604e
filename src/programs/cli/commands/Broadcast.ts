import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const text = Args.text({ name: "text" })

export const broadcastCommand = Command.make(
  "broadcast",
  { from: fromOption, json: jsonOption, text },
  ({ from, json, text }) =>
    runCommand(
      asCliPeer(from, (me, api) => api.messages.broadcast({ payload: { from_peer: me.peer_id, text } })).pipe(
        Effect.flatMap((r) =>
          json
            ? printJson(r)
            : Console.log(
              `delivered: ${r.delivered.join(", ") || "-"}\nqueued: ${r.queued.join(", ") || "-"}` +
                (r.skipped.length > 0 ? `\nskipped: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}` : "")
            )
        ),
        Effect.provide(ClientLayer)
      )
    )
).pipe(Command.withDescription("Send a message to every peer of the circle"))
