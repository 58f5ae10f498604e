import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { asCliPeer, ClientLayer, printJson, runCommand } from "../Client.js"
import { fromOption, jsonOption } from "./Ask.js"

const text = Args.text({ name: "text" })
const mesh = Options.boolean("mesh").pipe(
  Options.withDescription("Reach the peers of linked machines too (repowire mesh), not only this machine's")
)

export const broadcastCommand = Command.make(
  "broadcast",
  { from: fromOption, json: jsonOption, mesh, text },
  ({ from, json, mesh, text }) =>
    runCommand(
      asCliPeer(from, (me, api) =>
        api.messages.broadcast({
          payload: { from_peer: me.peer_id, text, ...(mesh ? { scope: "mesh" as const } : {}) }
        })).pipe(
          Effect.flatMap((r) =>
            json
              ? printJson(r)
              : Console.log(
                `delivered: ${r.delivered.join(", ") || "-"}\nqueued: ${r.queued.join(", ") || "-"}` +
                  (r.skipped.length > 0
                    ? `\nskipped: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`
                    : "")
              )
          ),
          Effect.provide(ClientLayer)
        )
    )
).pipe(Command.withDescription("Send a message to every peer of the circle"))
