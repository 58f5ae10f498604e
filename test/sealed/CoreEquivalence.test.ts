import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { concat, toHex, utf8 } from "../../src/protocol/sealed/Bytes.js"
import {
  decodeResponseHead as schemaHead,
  jsonMessage,
  Kind,
  type ResponseHead
} from "../../src/protocol/sealed/Channel.js"
import * as CoreCrypto from "../../src/protocol/sealed/core/Crypto.js"
import { RecordFailure } from "../../src/protocol/sealed/core/Failures.js"
import { decodeResponseHead as plainHead, type PlainResponseHead } from "../../src/protocol/sealed/core/Frames.js"
import * as CoreHandshake from "../../src/protocol/sealed/core/Handshake.js"
import * as CoreSession from "../../src/protocol/sealed/core/Session.js"
import { Handshake, type HandshakeOptions } from "../../src/protocol/sealed/Handshake.js"
import { SealedSession } from "../../src/protocol/sealed/Session.js"

/**
 * The browser runs the sealed core without effect (src/protocol/sealed/core, bundled by the
 * dashboard's loader); the daemon runs its Effect face. The two must be one protocol: the same
 * keys and ephemerals give the same bytes through either, each opens what the other sealed, and
 * each refuses the same damage with the same error.
 */

const run = Effect.runPromise
const psk = new Uint8Array(32).fill(7)
const prologue = utf8("repowire/equivalence")

type Face = "core" | "effect"
interface Party {
  write(payload: Uint8Array): Promise<Uint8Array>
  read(message: Uint8Array): Promise<Uint8Array>
  session(): { outgoing(id: number): Promise<Sealer>; incoming(id: number): Promise<Opener> }
  hash(): Uint8Array
}
interface Sealer {
  seal(p: Uint8Array): Promise<Uint8Array>
  end(): Promise<Uint8Array>
}
interface Opener {
  feed(b: Uint8Array): Promise<ReadonlyArray<Uint8Array>>
  open(r: Uint8Array): Promise<unknown>
  finish(): Promise<void>
}

/** A party on either face, behind one promise interface; errors as `{ tag, message }`. */
const party = async (face: Face, options: HandshakeOptions): Promise<Party> => {
  if (face === "core") {
    const h = await CoreHandshake.Handshake.make(options)
    return {
      write: (p) => h.writeMessage(p),
      read: (m) => h.readMessage(m),
      hash: () => h.complete!.handshakeHash,
      session: () => {
        const s = CoreSession.SealedSession.fromHandshake(h.complete!)
        return { outgoing: (id) => s.outgoing(id), incoming: (id) => s.incoming(id) }
      }
    }
  }
  const h = await run(Handshake.make(options))
  return {
    write: (p) => run(h.writeMessage(p)),
    read: (m) => run(h.readMessage(m)),
    hash: () => h.complete!.handshakeHash,
    session: () => {
      const s = SealedSession.fromHandshake(h.complete!)
      return {
        outgoing: async (id) => {
          const sealer = await run(s.outgoing(id))
          return { seal: (p) => run(sealer.seal(p)), end: () => run(sealer.end()) }
        },
        incoming: async (id) => {
          const opener = await run(s.incoming(id))
          const either = <A>(e: Effect.Effect<A, { _tag: string; message: string }>) =>
            run(Effect.either(e)).then((r) =>
              Either.isRight(r) ? r.right : Promise.reject({ tag: r.left._tag, message: r.left.message })
            )
          return {
            feed: (b) => either(opener.feed(b)),
            open: (r) => either(opener.open(r)),
            finish: () => either(opener.finish())
          }
        }
      }
    }
  }
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail("expected a failure"),
    (e) => (e instanceof RecordFailure ? { tag: e.fields.tag, message: e.message } : e as { tag: string })
  )

const keys = async () => ({
  initS: await CoreCrypto.generateKeyPair(),
  initE: await CoreCrypto.generateKeyPair(),
  respS: await CoreCrypto.generateKeyPair(),
  respE: await CoreCrypto.generateKeyPair()
})

/** A whole handshake between an initiator on one face and a responder on the other, its messages in hex. */
const handshake = async (
  pattern: "XX" | "XXpsk3",
  initFace: Face,
  respFace: Face,
  k: Awaited<ReturnType<typeof keys>>
) => {
  const withPsk = pattern === "XXpsk3" ? { psk } : {}
  const init = await party(initFace, { pattern, initiator: true, prologue, s: k.initS, e: k.initE, ...withPsk })
  const resp = await party(respFace, { pattern, initiator: false, prologue, s: k.respS, e: k.respE, ...withPsk })
  const messages: Array<string> = []
  for (const [i, payload] of [utf8(""), utf8("daemon says"), utf8("browser label")].entries()) {
    const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init]
    const sent = await writer.write(payload)
    assert.deepStrictEqual(await reader.read(sent), payload)
    messages.push(toHex(sent))
  }
  assert.deepStrictEqual(init.hash(), resp.hash())
  return { init, resp, messages, hash: toHex(init.hash()) }
}

const FACES = [["core", "core"], ["core", "effect"], ["effect", "core"], ["effect", "effect"]] as const

describe("the Effect-free core and its Effect face are one protocol", () => {
  for (const pattern of ["XX", "XXpsk3"] as const) {
    it(`${pattern}: the same keys and ephemerals give the same messages and hash, across faces`, async () => {
      const k = await keys()
      const runs = []
      for (const [a, b] of FACES) runs.push(await handshake(pattern, a, b, k))
      for (const r of runs.slice(1)) {
        assert.deepStrictEqual(r.messages, runs[0]!.messages)
        assert.strictEqual(r.hash, runs[0]!.hash)
      }
    })
  }

  it("records: the same session seals the same bytes on either face, and each opens the other's", async () => {
    const k = await keys()
    const [core, effect] = [await handshake("XX", "core", "core", k), await handshake("XX", "effect", "effect", k)]
    const plaintexts = [jsonMessage(Kind.Head, { status: 200, headers: [] }), new Uint8Array(70_000).fill(3)]
      .map((p) => p.subarray(0, 65_536))
    for (const stream of [1, 2]) {
      const [from, to] = stream === 1 ? [core, effect] : [effect, core]
      const sealerA = await from.init.session().outgoing(stream)
      const sealerB = await (from === core ? effect : core).init.session().outgoing(stream)
      const a = [...await Promise.all(plaintexts.map((p) => sealerA.seal(p))), await sealerA.end()]
      const b = [...await Promise.all(plaintexts.map((p) => sealerB.seal(p))), await sealerB.end()]
      assert.deepStrictEqual(a.map(toHex), b.map(toHex))
      // The other face's responder opens them, fed in uneven pieces.
      const opener = await to.resp.session().incoming(stream)
      const bytes = concat(...a)
      const opened: Array<Uint8Array> = []
      for (let at = 0; at < bytes.length; at += 7_001) opened.push(...await opener.feed(bytes.subarray(at, at + 7_001)))
      await opener.finish()
      assert.deepStrictEqual(opened, plaintexts)
    }
  })

  it("records: each face refuses replayed, reordered, altered and truncated streams with the same error", async () => {
    const k = await keys()
    const sides = {
      core: await handshake("XX", "core", "core", k),
      effect: await handshake("XX", "effect", "effect", k)
    }
    const errors: Record<Face, Array<unknown>> = { core: [], effect: [] }
    for (const face of ["core", "effect"] as const) {
      const session = sides[face].init.session()
      const peer = sides[face === "core" ? "effect" : "core"].resp.session()
      let stream = 10
      const records = async () => {
        const sealer = await session.outgoing(++stream)
        return {
          opener: await peer.incoming(stream),
          r: [await sealer.seal(utf8("a")), await sealer.seal(utf8("b")), await sealer.end()]
        }
      }
      // The errors are the opener's: the peer's face; the records are this face's.
      const replay = await records()
      await replay.opener.open(replay.r[0]!)
      errors[face].push(await errorOf(replay.opener.open(replay.r[0]!)))
      errors[face].push(await errorOf(replay.opener.open(replay.r[1]!)))
      const reorder = await records()
      errors[face].push(await errorOf(reorder.opener.open(reorder.r[1]!)))
      const altered = await records()
      const bad = Uint8Array.from(altered.r[0]!)
      bad[bad.length - 1]! ^= 1
      errors[face].push(await errorOf(altered.opener.open(bad)))
      const truncated = await records()
      await truncated.opener.feed(concat(truncated.r[0]!, truncated.r[1]!.subarray(0, 5)))
      errors[face].push(await errorOf(truncated.opener.finish()))
    }
    assert.deepStrictEqual(errors.core, errors.effect)
    assert.deepStrictEqual(errors.core.map((e) => (e as { tag: string }).tag), [
      "RecordReplayed",
      "StreamClosed",
      "RecordReordered",
      "RecordAltered",
      "RecordTruncated"
    ])
  })

  it("the browser's plain ResponseHead decoder reads what the Schema reads, and refuses what it refuses", () => {
    // At compile time: the plain Head's type is the Schema's, both ways.
    const sameType: [PlainResponseHead, ResponseHead] extends [ResponseHead, PlainResponseHead] ? true : never = true
    assert.isTrue(sameType)
    const cases: Array<unknown> = [
      { status: 200, headers: [] },
      { status: 101, headers: [["upgrade", "websocket"]], extra: true },
      { status: 599, headers: [["a", "1"], ["a", "2"]] },
      { status: 99, headers: [] },
      { status: 600, headers: [] },
      { status: 200.5, headers: [] },
      { status: "200", headers: [] },
      { status: 200 },
      { status: 200, headers: {} },
      { status: 200, headers: [["a"]] },
      { status: 200, headers: [["a", "b", "c"]] },
      { status: 200, headers: [["a", 1]] },
      { headers: [] },
      [200, []],
      null,
      "text",
      42
    ]
    const bodies = [...cases.map((c) => utf8(JSON.stringify(c))), utf8("{not json"), new Uint8Array([0xff, 0xfe])]
    for (const body of bodies) {
      assert.deepStrictEqual(plainHead(body), schemaHead(body), new TextDecoder().decode(body))
    }
    assert.deepStrictEqual(plainHead(bodies[1]!), { status: 101, headers: [["upgrade", "websocket"]] })
  })
})
