import { fromBase64Url, toBase64Url, utf8 } from "./Bytes.js"
import type { KeyPair } from "./core/Crypto.js"
import { fingerprintOf, pairingPsk, parsePairingSecret, startPairing } from "./core/Pairing.js"
import { SealedSession } from "./core/Session.js"

/** One JSON POST to the daemon (through the relay, from the page): its status and decoded body. */
export type PostJson = (path: string, body: unknown) => Promise<{ readonly status: number; readonly body: any }>

/** What a browser keeps after pairing: the daemon's key it pins from now on. */
export interface Paired {
  readonly deviceId: string
  readonly daemonKey: Uint8Array
  readonly daemonFingerprint: string
}

const refused = (reply: { readonly status: number; readonly body: any }) =>
  new Error(reply.body?.error?.message ?? `the daemon answered ${reply.status}`)

/**
 * The browser's side of pairing (Noise_XXpsk3 keyed by the link's secret), over the two
 * handshake routes. Succeeds only if the daemon's confirmation, sealed under the new
 * session's keys, opens and names the key the handshake authenticated.
 */
export const pairWith = async (post: PostJson, secretText: string, staticKey: KeyPair, label: string) => {
  const secret = parsePairingSecret(secretText)
  if (secret === undefined) throw new Error("this pairing link is malformed; run `repowire relay pair` for a new one")
  const handshake = await startPairing(staticKey, await pairingPsk(secret.key))
  const first = await handshake.writeMessage(new Uint8Array(0))
  const begun = await post("/sealed/pair/begin", { secret_id: secret.id, message: toBase64Url(first) })
  if (begun.status !== 200) throw refused(begun)
  const reply = fromBase64Url(String(begun.body?.message ?? ""))
  if (reply === undefined) throw new Error("the daemon's pairing reply is malformed")
  await handshake.readMessage(reply)
  const last = await handshake.writeMessage(utf8(label))
  const done = await post("/sealed/pair/finish", { secret_id: secret.id, message: toBase64Url(last) })
  if (done.status !== 200) throw refused(done)
  const result = handshake.complete!
  const opener = await SealedSession.fromHandshake(result).incoming(0)
  const confirmation = fromBase64Url(String(done.body?.confirmation ?? ""))
  if (confirmation === undefined) throw new Error("the daemon's confirmation is malformed")
  const opened = await opener.open(confirmation)
  if (opened._tag !== "Data") throw new Error("the daemon's confirmation is empty")
  const said = JSON.parse(new TextDecoder().decode(opened.data)) as { device_id: string; daemon_fingerprint: string }
  const daemonFingerprint = await fingerprintOf(result.remoteStatic)
  if (said.daemon_fingerprint !== daemonFingerprint) throw new Error("the daemon's confirmation names another key")
  return { deviceId: said.device_id, daemonKey: result.remoteStatic, daemonFingerprint } satisfies Paired
}
