import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { loadLoaderPage } from "../../src/programs/daemon/LoaderPage.js"
import { fromBase64Url, toBase64Url, utf8 } from "../../src/protocol/sealed/Bytes.js"
import { pairingPsk, parsePairingSecret, startPairing } from "../../src/protocol/sealed/Pairing.js"
import { generateKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"
import { isTunnelAllowed } from "../../src/protocol/TunnelRoutes.js"
import { tempHome } from "../support/Daemon.js"
import { request } from "../support/Http.js"
import { cli, spawnDaemon } from "../support/Process.js"

const RELAY = "https://relay.example.com"
const env = { REPOWIRE_RELAY__URL: RELAY }

/** A browser's side of pairing over the daemon's two handshake routes; the key may be a wrong one. */
const pairOver = async (url: string, secretText: string, label: string, wrongKey = false) => {
  const secret = parsePairingSecret(secretText)!
  const browser = await Effect.runPromise(generateKeyPair())
  const psk = await Effect.runPromise(pairingPsk(wrongKey ? new Uint8Array(32).fill(3) : secret.key))
  const handshake = await Effect.runPromise(startPairing(browser, psk))
  const step = (route: string, message: Uint8Array) =>
    request(url, "POST", route, { body: { secret_id: secret.id, message: toBase64Url(message) } })
  const first = await step("/sealed/pair/begin", await Effect.runPromise(handshake.writeMessage(new Uint8Array(0))))
  if (first.status !== 200) return { reply: first }
  await Effect.runPromise(handshake.readMessage(fromBase64Url(first.body.message)!))
  const last = await step("/sealed/pair/finish", await Effect.runPromise(handshake.writeMessage(utf8(label))))
  if (last.status !== 200) return { reply: last }
  const opener = await Effect.runPromise(SealedSession.fromHandshake(handshake.complete!).incoming(0))
  const confirmed = await Effect.runPromise(opener.open(fromBase64Url(last.body.confirmation)!))
  return { reply: last, confirmed }
}

const devicesJson = (home: string) => {
  const listed = cli(home, ["relay", "devices", "--json"], env)
  assert.strictEqual(listed.code, 0, listed.stderr)
  return JSON.parse(listed.stdout).devices as ReadonlyArray<{ id: string; label: string; revoked_at: string | null }>
}

const mintSecret = (home: string) => {
  const paired = cli(home, ["relay", "pair"], env)
  assert.strictEqual(paired.code, 0, paired.stderr)
  const link = /^(https:\/\/relay\.example\.com\/dashboard#pair=(\S+))$/m.exec(paired.stdout)
  assert.isNotNull(link, paired.stdout)
  return { stdout: paired.stdout, secret: link![2]! }
}

describe("repowire relay pair / devices against a running daemon", () => {
  it("pairs a browser once, lists and revokes it, and keeps the identity private", async () => {
    const home = await tempHome()
    const daemon = await spawnDaemon(home, env)
    try {
      const { secret, stdout } = mintSecret(home)
      // The terminal QR code: a square of half-block rows (two modules a row), about 20 for this link.
      assert.isAtLeast(stdout.split("\n").filter((line) => /[█▀▄].*[█▀▄].*[█▀▄]/.test(line)).length, 15)
      assert.match(stdout, /daemon identity: [0-9a-f]{64}/)
      assert.include(stdout, `loader page SHA-256: ${loadLoaderPage().sha256}`)

      for (const file of ["x25519.key", "ed25519.key"]) {
        assert.strictEqual(statSync(path.join(home, "identity", file)).mode & 0o777, 0o600, file)
      }
      assert.strictEqual(statSync(path.join(home, "identity")).mode & 0o777, 0o700)

      const wrong = await pairOver(daemon.url, secret, "attacker", true)
      assert.strictEqual(wrong.reply.status, 403)
      assert.strictEqual(wrong.reply.body.error.code, "pairing_refused")
      assert.match(wrong.reply.body.error.message, /nothing was stored/)
      assert.deepStrictEqual(devicesJson(home), [])

      const first = await pairOver(daemon.url, secret, "work laptop")
      assert.strictEqual(first.reply.status, 200, first.reply.text)
      assert.strictEqual(first.confirmed?._tag, "Data")
      const devices = devicesJson(home)
      assert.deepStrictEqual(devices.map((d) => [d.id, d.label, d.revoked_at]), [[
        first.reply.body.device_id,
        "work laptop",
        null
      ]])

      const reused = await pairOver(daemon.url, secret, "second browser")
      assert.strictEqual(reused.reply.status, 403)
      assert.match(reused.reply.body.error.message, /already used/)
      assert.strictEqual(devicesJson(home).length, 1)

      const table = cli(home, ["relay", "devices"], env)
      assert.match(table.stdout, new RegExp(`^${devices[0]!.id}\twork laptop\t[0-9a-f]{16}\t`, "m"))
      const revoked = cli(home, ["relay", "devices", "revoke", devices[0]!.id], env)
      assert.strictEqual(revoked.code, 0, revoked.stderr)
      assert.match(revoked.stdout, /revoked dev_/)
      assert.isNotNull(devicesJson(home)[0]!.revoked_at)
      const again = cli(home, ["relay", "devices", "revoke", devices[0]!.id], env)
      assert.strictEqual(again.code, 1)
      assert.match(again.stderr, /no paired device/)
    } finally {
      daemon.child.kill("SIGTERM")
    }
  }, 60_000)

  it("the admin routes need the human credential and are never tunnelled; the handshake is", async () => {
    const home = await tempHome()
    const daemon = await spawnDaemon(home, env)
    try {
      const credential = readFileSync(path.join(home, "human.token"), "utf8").trim()
      const without = await request(daemon.url, "POST", "/relay/pair")
      assert.strictEqual(without.status, 403)
      assert.match(without.body.error.message, /human credential/)
      assert.strictEqual((await request(daemon.url, "GET", "/relay/devices")).status, 403)
      const wrong = await request(daemon.url, "GET", "/relay/devices", {
        headers: { "x-repowire-human-credential": "not-it" }
      })
      assert.strictEqual(wrong.status, 403)
      const ok = await request(daemon.url, "GET", "/relay/devices", {
        headers: { "x-repowire-human-credential": credential }
      })
      assert.strictEqual(ok.status, 200)
      const unknown = await pairOver(daemon.url, `AAAAAAAAAAAA.${"A".repeat(43)}`, "x")
      assert.strictEqual(unknown.reply.status, 403)
      assert.match(unknown.reply.body.error.message, /not known/)
      for (
        const [method, route] of [
          ["POST", "/relay/pair"],
          ["GET", "/relay/devices"],
          ["DELETE", "/relay/devices/dev_1"]
        ] as const
      ) assert.isFalse(isTunnelAllowed(method, route), route)
      // The browser pairs through the relay: the secret's psk, not the route, authenticates it.
      assert.isTrue(isTunnelAllowed("POST", "/sealed/pair/begin"))
      assert.isTrue(isTunnelAllowed("POST", "/sealed/pair/finish"))
    } finally {
      daemon.child.kill("SIGTERM")
    }
  }, 60_000)

  it("without a relay, pair says how to set one up and mints nothing", async () => {
    const home = await tempHome()
    const daemon = await spawnDaemon(home)
    try {
      const refused = cli(home, ["relay", "pair"])
      assert.strictEqual(refused.code, 1)
      assert.match(refused.stderr, /no relay: run `repowire setup --relay URL`/)
    } finally {
      daemon.child.kill("SIGTERM")
    }
  }, 60_000)
})
