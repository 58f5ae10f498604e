import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import type { MeshLink } from "../../../protocol/MeshWire.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { ClientLayer, printJson, runCommand } from "../Client.js"
import { humanHeaders } from "./RelayPair.js"

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

const client = Effect.all({ client: DaemonClient, headers: humanHeaders })

const pair = Command.make("pair", { json }, ({ json }) =>
  runCommand(
    Effect.gen(function*() {
      const { client: c, headers } = yield* client
      const ticket = yield* c.call((api) => api.mesh.pair({ headers }))
      if (json) return yield* printJson(ticket)
      yield* Console.log(`On the other machine, run (once, until ${ticket.expires_at}):\n`)
      yield* Console.log(`  repowire mesh join ${ticket.code}\n`)
      yield* Console.log("Anyone of your relay user holding this code can link until it is used.")
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("Print a single-use code (10 minutes) that links another daemon of yours"))

const join = Command.make("join", { code: Args.text({ name: "code" }) }, ({ code }) =>
  runCommand(
    Effect.gen(function*() {
      const { client: c, headers } = yield* client
      const joined = yield* c.call((api) => api.mesh.join({ headers, payload: { code } }))
      yield* Console.log(`linked with ${joined.machine} (identity ${joined.fingerprint.slice(0, 16)}…)`)
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("Link this daemon with the one that printed CODE (repowire mesh pair)"))

const linksText = (links: ReadonlyArray<MeshLink>) =>
  links.length === 0
    ? "no linked machines (repowire mesh pair, then mesh join on the other)"
    : [
      ["machine", "fingerprint", "status", "last_seen"].join("\t"),
      ...links.map((l) => [l.machine, l.fingerprint.slice(0, 16), l.status, l.last_seen ?? ""].join("\t"))
    ].join("\n")

const list = Command.make("list", { json }, ({ json }) =>
  runCommand(
    Effect.gen(function*() {
      const { client: c, headers } = yield* client
      const { links } = yield* c.call((api) => api.mesh.links({ headers }))
      yield* json ? printJson({ links }) : Console.log(linksText(links))
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("The linked machines: fingerprint, link status, last seen (--json)"))

const remove = Command.make("remove", { machine: Args.text({ name: "machine" }) }, ({ machine }) =>
  runCommand(
    Effect.gen(function*() {
      const { client: c, headers } = yield* client
      yield* c.call((api) => api.mesh.remove({ headers, path: { machine } }))
      yield* Console.log(`unlinked ${machine}; its peers are gone from this daemon`)
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("End the link with MACHINE, on both sides"))

export const meshCommand = Command.make("mesh").pipe(
  Command.withDescription("One mesh across machines: link your daemons through the relay (pair, join, list, remove)"),
  Command.withSubcommands([pair, join, list, remove])
)
