// Bundled for Chromium by Browser.e2e.test.ts: the sealed core exactly as the dashboard's loader
// imports it (no effect), so the Noise vectors run against what the browser runs.
import { fromHex, toBase64Url, toHex, utf8 } from "../../src/protocol/sealed/Bytes.js"
import { generateKeyPair, importRawKeyPair } from "../../src/protocol/sealed/core/Crypto.js"
import { Handshake, type PatternName, PATTERNS, protocolName } from "../../src/protocol/sealed/core/Handshake.js"
import { pairingPsk, parsePairingSecret, startPairing } from "../../src/protocol/sealed/core/Pairing.js"
import { SealedSession } from "../../src/protocol/sealed/core/Session.js"

interface Vector {
  readonly protocol_name: string
  readonly [key: string]: unknown
  readonly messages: ReadonlyArray<{ readonly payload: string; readonly ciphertext: string }>
}

const party = async (v: Vector, initiator: boolean) => {
  const side = initiator ? "init" : "resp"
  const psks = (v[`${side}_psks`] ?? []) as ReadonlyArray<string>
  const pattern = (Object.keys(PATTERNS) as Array<PatternName>).find((p) => protocolName(p) === v.protocol_name)!
  return Handshake.make({
    pattern,
    initiator,
    prologue: fromHex(v[`${side}_prologue`] as string),
    s: await importRawKeyPair(fromHex(v[`${side}_static`] as string)),
    e: await importRawKeyPair(fromHex(v[`${side}_ephemeral`] as string)),
    psk: psks[0] === undefined ? undefined : fromHex(psks[0])
  })
}

/** Every message of a vector as this runtime writes it, hex; the test compares them with the file. */
const writeVector = async (v: Vector) => {
  const init = await party(v, true)
  const resp = await party(v, false)
  const out: Array<string> = []
  for (const [i, m] of v.messages.entries()) {
    const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init]
    if (writer.complete === undefined) {
      const sent = await writer.writeMessage(fromHex(m.payload))
      await reader.readMessage(sent)
      out.push(toHex(sent))
    } else {
      const sent = await writer.complete.send.encryptWithAd(new Uint8Array(0), fromHex(m.payload))
      await reader.complete!.receive.decryptWithAd(new Uint8Array(0), sent)
      out.push(toHex(sent))
    }
  }
  return out
}

let pairing: Handshake | undefined

const api = {
  vectors: async (vectors: ReadonlyArray<Vector>) => {
    const out: Array<Array<string>> = []
    for (const v of vectors) out.push(await writeVector(v))
    return out
  },
  /** The browser's first pairing message, from a fresh non-extractable key pair. */
  pairStart: async (secretText: string) => {
    const secret = parsePairingSecret(secretText)!
    const key = await generateKeyPair()
    if (key.privateKey.extractable) throw new Error("the browser's private key must not be extractable")
    pairing = await startPairing(key, await pairingPsk(secret.key))
    return toBase64Url(await pairing.writeMessage(new Uint8Array(0)))
  },
  pairLast: async (replyHex: string, label: string) => {
    await pairing!.readMessage(fromHex(replyHex))
    return toHex(await pairing!.writeMessage(utf8(label)))
  },
  pairConfirm: async (confirmationHex: string) => {
    const opener = await SealedSession.fromHandshake(pairing!.complete!).incoming(0)
    const opened = await opener.open(fromHex(confirmationHex))
    return opened._tag === "Data" ? new TextDecoder().decode(opened.data) : ""
  }
}
;(globalThis as unknown as { sealed: typeof api }).sealed = api
