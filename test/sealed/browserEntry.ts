// Bundled for Chromium by Browser.e2e.test.ts: the sealed modules exactly as the dashboard will import them.
import { Effect } from "effect"
import { fromHex, toBase64Url, toHex, utf8 } from "../../src/protocol/sealed/Bytes.js"
import { Handshake, type PatternName, PATTERNS, protocolName } from "../../src/protocol/sealed/Handshake.js"
import { pairingPsk, parsePairingSecret, startPairing } from "../../src/protocol/sealed/Pairing.js"
import { generateKeyPair, importRawKeyPair } from "../../src/protocol/sealed/Primitives.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"

interface Vector {
  readonly protocol_name: string
  readonly [key: string]: unknown
  readonly messages: ReadonlyArray<{ readonly payload: string; readonly ciphertext: string }>
}

const party = (v: Vector, initiator: boolean) =>
  Effect.gen(function*() {
    const side = initiator ? "init" : "resp"
    const psks = (v[`${side}_psks`] ?? []) as ReadonlyArray<string>
    const pattern = (Object.keys(PATTERNS) as Array<PatternName>).find((p) => protocolName(p) === v.protocol_name)!
    return yield* Handshake.make({
      pattern,
      initiator,
      prologue: fromHex(v[`${side}_prologue`] as string),
      s: yield* importRawKeyPair(fromHex(v[`${side}_static`] as string)),
      e: yield* importRawKeyPair(fromHex(v[`${side}_ephemeral`] as string)),
      psk: psks[0] === undefined ? undefined : fromHex(psks[0])
    })
  })

/** Every message of a vector as this runtime writes it, hex; the test compares them with the file. */
const writeVector = (v: Vector) =>
  Effect.gen(function*() {
    const init = yield* party(v, true)
    const resp = yield* party(v, false)
    const out: Array<string> = []
    for (const [i, m] of v.messages.entries()) {
      const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init]
      if (writer.complete === undefined) {
        const sent = yield* writer.writeMessage(fromHex(m.payload))
        yield* reader.readMessage(sent)
        out.push(toHex(sent))
      } else {
        const sent = yield* writer.complete.send.encryptWithAd(new Uint8Array(0), fromHex(m.payload))
        yield* reader.complete!.receive.decryptWithAd(new Uint8Array(0), sent)
        out.push(toHex(sent))
      }
    }
    return out
  })

let pairing: Handshake | undefined

const api = {
  vectors: (vectors: ReadonlyArray<Vector>) => Effect.runPromise(Effect.forEach(vectors, writeVector)),
  /** The browser's first pairing message, from a fresh non-extractable key pair. */
  pairStart: (secretText: string) =>
    Effect.runPromise(Effect.gen(function*() {
      const secret = parsePairingSecret(secretText)!
      const key = yield* generateKeyPair()
      if (key.privateKey.extractable) throw new Error("the browser's private key must not be extractable")
      pairing = yield* startPairing(key, yield* pairingPsk(secret.key))
      return toBase64Url(yield* pairing.writeMessage(new Uint8Array(0)))
    })),
  pairLast: (replyHex: string, label: string) =>
    Effect.runPromise(Effect.gen(function*() {
      yield* pairing!.readMessage(fromHex(replyHex))
      return toHex(yield* pairing!.writeMessage(utf8(label)))
    })),
  pairConfirm: (confirmationHex: string) =>
    Effect.runPromise(Effect.gen(function*() {
      const opener = yield* SealedSession.fromHandshake(pairing!.complete!).incoming(0)
      const opened = yield* opener.open(fromHex(confirmationHex))
      return opened._tag === "Data" ? new TextDecoder().decode(opened.data) : ""
    }))
}
;(globalThis as unknown as { sealed: typeof api }).sealed = api
