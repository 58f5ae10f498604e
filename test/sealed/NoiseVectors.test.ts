import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fromHex, toHex } from "../../src/protocol/sealed/Bytes.js"
import type { CipherState } from "../../src/protocol/sealed/CipherState.js"
import * as CoreCrypto from "../../src/protocol/sealed/core/Crypto.js"
import * as Core from "../../src/protocol/sealed/core/Handshake.js"
import { Handshake, type PatternName, PATTERNS, protocolName } from "../../src/protocol/sealed/Handshake.js"
import { importRawKeyPair } from "../../src/protocol/sealed/Primitives.js"

interface Vector {
  readonly source: string
  readonly protocol_name: string
  readonly init_prologue: string
  readonly init_psks?: ReadonlyArray<string>
  readonly init_static: string
  readonly init_ephemeral: string
  readonly resp_prologue: string
  readonly resp_psks?: ReadonlyArray<string>
  readonly resp_static: string
  readonly resp_ephemeral: string
  readonly handshake_hash?: string
  readonly messages: ReadonlyArray<{ readonly payload: string; readonly ciphertext: string }>
}

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/noise-vectors.json", import.meta.url), "utf8")
) as { readonly vectors: ReadonlyArray<Vector> }

const patternOf = (v: Vector): PatternName => {
  const name = (Object.keys(PATTERNS) as Array<PatternName>).find((p) => protocolName(p) === v.protocol_name)
  if (name === undefined) throw new Error(`no pattern for ${v.protocol_name}`)
  return name
}

const party = (v: Vector, initiator: boolean) =>
  Effect.gen(function*() {
    const side = initiator ? "init" : "resp"
    const psks = v[`${side}_psks`] ?? []
    return yield* Handshake.make({
      pattern: patternOf(v),
      initiator,
      prologue: fromHex(v[`${side}_prologue`]),
      s: yield* importRawKeyPair(fromHex(v[`${side}_static`])),
      e: yield* importRawKeyPair(fromHex(v[`${side}_ephemeral`])),
      psk: psks[0] === undefined ? undefined : fromHex(psks[0])
    })
  })

describe("Noise test vectors (cacophony, snow)", () => {
  it("the fixture holds XX and XXpsk3 vectors from both sources", () => {
    const names = fixture.vectors.map((v) => `${v.source}:${v.protocol_name}`).sort()
    assert.deepStrictEqual(names, [
      "cacophony:Noise_XX_25519_AESGCM_SHA256",
      "cacophony:Noise_XXpsk3_25519_AESGCM_SHA256",
      "snow:Noise_XX_25519_AESGCM_SHA256"
    ])
  })

  for (const v of fixture.vectors) {
    it.effect(`${v.source} ${v.protocol_name}: every handshake and transport message byte for byte`, () =>
      Effect.gen(function*() {
        const init = yield* party(v, true)
        const resp = yield* party(v, false)
        const handshakeLength = PATTERNS[patternOf(v)].length
        let transport:
          | { readonly init: [CipherState, CipherState]; readonly resp: [CipherState, CipherState] }
          | undefined
        for (const [i, m] of v.messages.entries()) {
          const fromInit = i % 2 === 0
          const payload = fromHex(m.payload)
          if (i < handshakeLength) {
            const [writer, reader] = fromInit ? [init, resp] : [resp, init]
            const sent = yield* writer.writeMessage(payload)
            assert.strictEqual(toHex(sent), m.ciphertext, `handshake message ${i}`)
            assert.strictEqual(toHex(yield* reader.readMessage(sent)), m.payload, `handshake payload ${i}`)
            if (i === handshakeLength - 1) {
              const a = init.complete!
              const b = resp.complete!
              assert.strictEqual(toHex(a.handshakeHash), toHex(b.handshakeHash))
              if (v.handshake_hash !== undefined) assert.strictEqual(toHex(a.handshakeHash), v.handshake_hash)
              assert.strictEqual(
                toHex(a.remoteStatic),
                toHex((yield* importRawKeyPair(fromHex(v.resp_static))).publicKey)
              )
              assert.strictEqual(
                toHex(b.remoteStatic),
                toHex((yield* importRawKeyPair(fromHex(v.init_static))).publicKey)
              )
              transport = { init: [a.send, a.receive], resp: [b.send, b.receive] }
            }
          } else {
            const [send, receive] = fromInit
              ? [transport!.init[0], transport!.resp[1]]
              : [transport!.resp[0], transport!.init[1]]
            const sent = yield* send.encryptWithAd(new Uint8Array(0), payload)
            assert.strictEqual(toHex(sent), m.ciphertext, `transport message ${i}`)
            assert.strictEqual(toHex(yield* receive.decryptWithAd(new Uint8Array(0), sent)), m.payload)
          }
        }
        assert.isDefined(transport)
      }))
  }
})

const coreParty = async (v: Vector, initiator: boolean) => {
  const side = initiator ? "init" : "resp"
  const psks = v[`${side}_psks`] ?? []
  return Core.Handshake.make({
    pattern: patternOf(v),
    initiator,
    prologue: fromHex(v[`${side}_prologue`]),
    s: await CoreCrypto.importRawKeyPair(fromHex(v[`${side}_static`])),
    e: await CoreCrypto.importRawKeyPair(fromHex(v[`${side}_ephemeral`])),
    psk: psks[0] === undefined ? undefined : fromHex(psks[0])
  })
}

// The browser's loader runs the core without the Effect face: the vectors hold it directly too
// (and in Chromium: Browser.e2e.test.ts).
describe("Noise test vectors against the Effect-free core", () => {
  for (const v of fixture.vectors) {
    it(`${v.source} ${v.protocol_name}: every handshake and transport message byte for byte`, async () => {
      const init = await coreParty(v, true)
      const resp = await coreParty(v, false)
      const handshakeLength = PATTERNS[patternOf(v)].length
      for (const [i, m] of v.messages.entries()) {
        const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init]
        const payload = fromHex(m.payload)
        if (i < handshakeLength) {
          const sent = await writer.writeMessage(payload)
          assert.strictEqual(toHex(sent), m.ciphertext, `handshake message ${i}`)
          assert.strictEqual(toHex(await reader.readMessage(sent)), m.payload, `handshake payload ${i}`)
        } else {
          const sent = await writer.complete!.send.encryptWithAd(new Uint8Array(0), payload)
          assert.strictEqual(toHex(sent), m.ciphertext, `transport message ${i}`)
          assert.strictEqual(toHex(await reader.complete!.receive.decryptWithAd(new Uint8Array(0), sent)), m.payload)
        }
      }
      const a = init.complete!
      assert.strictEqual(toHex(a.handshakeHash), toHex(resp.complete!.handshakeHash))
      if (v.handshake_hash !== undefined) assert.strictEqual(toHex(a.handshakeHash), v.handshake_hash)
    })
  }
})
