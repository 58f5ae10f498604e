import { Either, Schema } from "effect"
import { fromBase64Url, toBase64Url, utf8 } from "./sealed/Bytes.js"
import { formatPairingSecret, type PairingSecret, parsePairingSecret } from "./sealed/Pairing.js"

/**
 * A join code (`repowire mesh pair`): which daemon to reach through the relay, the SHA-256
 * fingerprint of its identity key (the joiner refuses any other key), and a one-time secret
 * that keys the Noise_XXpsk3 handshake. Printed as `rwm1.` + base64url of its JSON.
 */
export interface MeshCode {
  readonly daemonId: string
  readonly fingerprint: string
  readonly secret: PairingSecret
}

const PREFIX = "rwm1."

const CodeBody = Schema.Struct({
  d: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)),
  f: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)),
  s: Schema.String
})
const decodeBody = Schema.decodeUnknownEither(Schema.parseJson(CodeBody))

export const formatMeshCode = (code: MeshCode): string =>
  PREFIX +
  toBase64Url(utf8(JSON.stringify({ d: code.daemonId, f: code.fingerprint, s: formatPairingSecret(code.secret) })))

export const parseMeshCode = (text: string): Either.Either<MeshCode, string> => {
  const trimmed = text.trim()
  const bytes = trimmed.startsWith(PREFIX) ? fromBase64Url(trimmed.slice(PREFIX.length)) : undefined
  if (bytes === undefined) return Either.left("not a mesh join code (it starts with rwm1.)")
  let json: string
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    return Either.left("the join code is damaged")
  }
  return Either.flatMap(
    Either.mapLeft(decodeBody(json), () => "the join code is damaged"),
    (body) => {
      const secret = parsePairingSecret(body.s)
      return secret === undefined
        ? Either.left("the join code is damaged")
        : Either.right({ daemonId: body.d, fingerprint: body.f, secret })
    }
  )
}
