import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as tls from "node:tls"
import { login, tempDir } from "../harness.js"
import { cert, daemon, readAudit, register, withRelay } from "./auditRelay.js"

/** Sends `head` as it is over a TLS connection to `port` and reads everything the relay answers until it closes. */
const rawExchange = (port: number, head: Buffer) =>
  Effect.async<Buffer, Error>((resume) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: cert.cert, servername: "localhost" })
    const chunks: Array<Buffer> = []
    socket.on("secureConnect", () => socket.write(head))
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("error", (e) => resume(Effect.fail(e)))
    socket.on("close", () => resume(Effect.succeed(Buffer.concat(chunks))))
  })

describe("the relay's request record (real relay)", () => {
  it.live("counts exactly the bytes each way on the client's connection, headers included, and keeps no query", () =>
    Effect.gen(function*() {
      yield* withRelay(tempDir("rw-audit-bytes-"), (relay) =>
        Effect.gen(function*() {
          const alice = yield* register(relay.url)
          yield* daemon("A", relay.url, alice.api_key, "laptop")
          const { cookie } = yield* login(relay.url, cert.cert, alice.api_key)
          // A header value with a byte past ASCII (0xE9): Node reads header bytes as latin1, one
          // character each, so a UTF-8 count of the string would say one byte more than was sent.
          const head = Buffer.from(
            `GET /peers?token=not-recorded HTTP/1.1\r\nHost: 127.0.0.1:${relay.port}\r\nCookie: ${cookie}\r\n` +
              "X-Note: caf\u00e9\r\nConnection: close\r\n\r\n",
            "latin1"
          )
          const answer = yield* rawExchange(relay.port, head)
          assert.match(answer.toString("latin1"), /^HTTP\/1\.1 200 /)

          const page = (yield* readAudit(relay.url, { cookie })).page!
          const records = page.records.filter((r) => r.kind === "request" && r.detail.path === "/peers")
          assert.strictEqual(records.length, 1)
          const { detail } = records[0]!
          assert.strictEqual(detail.method, "GET")
          assert.strictEqual(detail.status, 200)
          assert.strictEqual(detail.completed, true)
          assert.strictEqual(detail.client, "127.0.0.1")
          assert.strictEqual(detail.bytes_in, head.length)
          assert.strictEqual(detail.bytes_out, answer.length)
          assert.notInclude(JSON.stringify(detail), "not-recorded")
        }))
    }))
})
