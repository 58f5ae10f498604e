import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { rm } from "node:fs/promises"
import * as path from "node:path"
import { fromBase64Url, toBase64Url, utf8 } from "../src/protocol/sealed/Bytes.js"
import {
  acceptPairing,
  newPairingSecret,
  pairingPsk,
  parsePairingSecret,
  startPairing
} from "../src/protocol/sealed/Pairing.js"
import { generateKeyPair } from "../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../src/protocol/sealed/Session.js"
import { startDaemon } from "../test/support/Daemon.js"
import { median, ms, percentile, report } from "./support/Stats.js"

/**
 * `npm run bench -- pairing`: a full XXpsk3 pairing, the browser's side against a daemon in
 * this process over loopback HTTP (its two handshake routes, SQLite on disk), from the
 * browser's new key pair to its opened confirmation. Beside it, the same handshake with
 * both parties in memory: what the crypto alone costs. Goal: ≤ 100 ms on loopback.
 */
const ROUNDS = 50
const WARM_UP = 5

const post = async (base: string, route: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`)
  return await response.json() as Record<string, string>
}

const overLoopback = (base: string, secretText: string) =>
  Effect.gen(function*() {
    const secret = parsePairingSecret(secretText)!
    const browser = yield* generateKeyPair()
    const handshake = yield* startPairing(browser, yield* pairingPsk(secret.key))
    const step = (route: string, message: Uint8Array) =>
      Effect.promise(() => post(base, route, { secret_id: secret.id, message: toBase64Url(message) }))
    const reply = yield* step("/sealed/pair/begin", yield* handshake.writeMessage(new Uint8Array(0)))
    yield* handshake.readMessage(fromBase64Url(reply.message!)!)
    const done = yield* step("/sealed/pair/finish", yield* handshake.writeMessage(utf8("bench")))
    const opener = yield* SealedSession.fromHandshake(handshake.complete!).incoming(0)
    yield* opener.open(fromBase64Url(done.confirmation!)!)
  })

const inMemory = Effect.gen(function*() {
  const secret = newPairingSecret()
  const psk = yield* pairingPsk(secret.key)
  const daemonKey = yield* generateKeyPair()
  const b = yield* startPairing(yield* generateKeyPair(), psk)
  const d = yield* acceptPairing(daemonKey, psk)
  yield* d.readMessage(yield* b.writeMessage(new Uint8Array(0)))
  yield* b.readMessage(yield* d.writeMessage(new Uint8Array(0)))
  yield* d.readMessage(yield* b.writeMessage(utf8("bench")))
  const confirm = yield* (yield* SealedSession.fromHandshake(d.complete!).outgoing(0)).seal(utf8("ok"))
  yield* (yield* SealedSession.fromHandshake(b.complete!).incoming(0)).open(confirm)
})

const timed = async (run: () => Promise<void>) => {
  const times: Array<number> = []
  for (let i = 0; i < WARM_UP + ROUNDS; i++) {
    const start = performance.now()
    await run()
    if (i >= WARM_UP) times.push(performance.now() - start)
  }
  return times
}

export const run = async () => {
  const daemon = await startDaemon({ relay: { url: "https://relay.example.com" } })
  try {
    const headers = {
      "x-repowire-human-credential": readFileSync(path.join(daemon.home, "human.token"), "utf8").trim()
    }
    // Secrets are minted outside the timed part: `relay pair` is a person's step, not the handshake's.
    const secrets: Array<string> = []
    for (let i = 0; i < WARM_UP + ROUNDS; i++) {
      secrets.push((await post(daemon.url, "/relay/pair", {}, headers)).secret!)
    }
    const loopback = await timed(() => Effect.runPromise(overLoopback(daemon.url, secrets.shift()!)))
    const memory = await timed(() => Effect.runPromise(inMemory))
    report(`pairing handshake (XXpsk3), ${ROUNDS} pairings each`, [
      ["loopback HTTP + SQLite p50", ms(median(loopback))],
      ["loopback HTTP + SQLite p95", ms(percentile(loopback, 95))],
      ["in memory (crypto only) p50", ms(median(memory))],
      ["goal", "≤ 100 ms on loopback"]
    ])
  } finally {
    await daemon.close()
    await rm(daemon.home, { recursive: true, force: true })
  }
}
