import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import QRCode from "qrcode"
import { HUMAN_CREDENTIAL_FILE } from "../../../protocol/HomeFiles.js"
import type { PairedDevice } from "../../../protocol/sealed/Devices.js"
import { Config } from "../../../services/Config.js"
import { DaemonClient } from "../../../services/DaemonClient.js"
import { loadLoaderPage } from "../../daemon/LoaderPage.js"
import { ClientLayer, printJson, runCommand } from "../Client.js"
import { fail } from "../CliError.js"

/** The local human credential the daemon made under its home (else the auth token): admin routes need it. */
export const humanHeaders = Effect.gen(function*() {
  const config = yield* Config
  const file = path.join(config.paths.home, HUMAN_CREDENTIAL_FILE)
  let credential: string | undefined
  try {
    credential = fs.readFileSync(file, "utf8").trim()
  } catch {
    credential = config.authToken === undefined ? undefined : Redacted.value(config.authToken)
  }
  if (credential === undefined || credential === "") {
    return yield* fail(`no local human credential at ${file}: is the daemon running (repowire daemon start)?`)
  }
  return { "x-repowire-human-credential": credential }
})

/** Where the browser opens the dashboard through the relay: its https origin. */
export const pairingLink = (relayUrl: string, secret: string) => {
  const url = new URL(relayUrl)
  const scheme = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:"
  return `${scheme}//${url.host}/dashboard#pair=${secret}`
}

export const pairCommand = Command.make("pair", {}, () =>
  runCommand(
    Effect.gen(function*() {
      const config = yield* Config
      const relayUrl = config.values.relay.url
      if (relayUrl === null) {
        return yield* fail("this daemon has no relay: run `repowire setup --relay URL` (or `relay register`) first")
      }
      const headers = yield* humanHeaders
      const ticket = yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.sealed.pair({ headers })))
      const link = pairingLink(relayUrl, ticket.secret)
      const qr = yield* Effect.promise(() => QRCode.toString(link, { type: "terminal", small: true }))
      yield* Console.log(`Open this link in the browser to pair it (once, until ${ticket.expires_at}):\n`)
      yield* Console.log(link)
      yield* Console.log(`\n${qr}`)
      yield* Console.log(`daemon identity: ${ticket.daemon_fingerprint}`)
      yield* Console.log(
        `loader page SHA-256: ${loadLoaderPage().sha256} (the page the relay must serve at /dashboard)`
      )
      yield* Console.log("The part after # never reaches the relay. Anyone with this link can pair until it is used.")
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("Print a one-time link (and QR code) that pairs a browser with this daemon"))

const devicesText = (devices: ReadonlyArray<PairedDevice>) =>
  devices.length === 0
    ? "no paired devices (repowire relay pair pairs one)"
    : [
      ["id", "label", "fingerprint", "created_at", "last_seen", "revoked_at"].join("\t"),
      ...devices.map((d) =>
        [d.id, d.label, d.fingerprint.slice(0, 16), d.created_at, d.last_seen, d.revoked_at ?? ""].join("\t")
      )
    ].join("\n")

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

const revoke = Command.make("revoke", { id: Args.text({ name: "device-id" }) }, ({ id }) =>
  runCommand(
    Effect.gen(function*() {
      const headers = yield* humanHeaders
      const device = yield* Effect.flatMap(DaemonClient, (c) =>
        c.call((api) => api.sealed.revoke({ path: { id }, headers })))
      yield* Console.log(`revoked ${device.id} (${device.label}); its key no longer opens a sealed session`)
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(Command.withDescription("Revoke a paired device"))

export const devicesCommand = Command.make("devices", { json }, ({ json }) =>
  runCommand(
    Effect.gen(function*() {
      const headers = yield* humanHeaders
      const { devices } = yield* Effect.flatMap(DaemonClient, (c) => c.call((api) => api.sealed.devices({ headers })))
      yield* json ? printJson({ devices }) : Console.log(devicesText(devices))
    }).pipe(Effect.provide(ClientLayer))
  )).pipe(
    Command.withDescription("List the browsers paired with this daemon (--json); `devices revoke ID` revokes one"),
    Command.withSubcommands([revoke])
  )
