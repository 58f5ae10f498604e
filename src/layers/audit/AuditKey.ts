import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { AuditCheckpoint, CheckpointBody } from "../../protocol/Audit.js"
import { canonicalize } from "./Canonical.js"

export const AUDIT_KEY_FILE = "audit-ed25519.pem"

/** A signature over a checkpoint can never be mistaken for one over anything else. */
const DOMAIN = "repowire-audit-checkpoint-v1\n"

const message = (body: CheckpointBody) =>
  Buffer.from(
    DOMAIN + canonicalize({ chain: body.chain, seq: body.seq, hash: body.hash, at: body.at, cut: body.cut }),
    "utf8"
  )

export interface AuditSigner {
  readonly publicKey: string
  readonly sign: (body: CheckpointBody) => AuditCheckpoint
}

/** The relay's Ed25519 audit key in `dir` (0600), made on first use. */
export const loadSigner = (dir: string): AuditSigner => {
  const file = path.join(dir, AUDIT_KEY_FILE)
  let privateKey: KeyObject
  if (fs.existsSync(file)) {
    privateKey = createPrivateKey(fs.readFileSync(file))
  } else {
    const pair = generateKeyPairSync("ed25519")
    const pem = pair.privateKey.export({ format: "pem", type: "pkcs8" })
    // Written whole beside it, then linked into place: a process starting at the same moment (a
    // second replica on this data dir, the CLI) never reads a half-written key.
    const temp = `${file}.${process.pid}-${Date.now()}.tmp`
    fs.writeFileSync(temp, pem, { mode: 0o600, flag: "wx" })
    try {
      fs.linkSync(temp, file)
      privateKey = pair.privateKey
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      // Another process made it first: use theirs.
      privateKey = createPrivateKey(fs.readFileSync(file))
    } finally {
      fs.rmSync(temp, { force: true })
    }
  }
  fs.chmodSync(file, 0o600)
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`${file} is not an Ed25519 key`)
  const publicKey = createPublicKey(privateKey).export({ format: "jwk" }).x!
  return {
    publicKey,
    sign: (body) => ({ ...body, signature: sign(null, message(body), privateKey).toString("base64url") })
  }
}

/**
 * For a writer that only appends (the CLI's key commands): no key is read or made, and nothing
 * is signed. AuditLive never asks it to (its chains are never due a checkpoint), so a call is a bug.
 */
export const appendOnlySigner: AuditSigner = {
  publicKey: "",
  sign: () => {
    throw new Error("this audit writer only appends: it has no key to sign checkpoints with")
  }
}

/** Whether `checkpoint` was signed by the raw Ed25519 public key `publicKey` (base64url). */
export const checkpointSigned = (publicKey: string, checkpoint: AuditCheckpoint): boolean => {
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" })
    return verify(null, message(checkpoint), key, Buffer.from(checkpoint.signature, "base64url"))
  } catch {
    return false
  }
}
