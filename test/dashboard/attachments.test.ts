import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Stream, TestClock } from "effect"
import * as fs from "node:fs/promises"
import { safeFileName } from "../../src/layers/AttachmentLimits.js"
import { AttachmentsMemory } from "../../src/layers/AttachmentsMemory.js"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { contentDisposition, safeContentType } from "../../src/programs/daemon/AttachmentRoutes.js"
import { MEMORY_HOME } from "../support/Layers.js"
import { Attachments, attachmentServer, baseUrl, tempHome, uploadForm } from "./attachmentServer.js"

const post = (url: string, form: FormData) =>
  Effect.promise(() => fetch(`${url}/attachments`, { method: "POST", body: form }))
const json = (r: Response) => Effect.promise(() => r.json() as Promise<any>)

describe("attachments over HTTP (SQLite + files)", () => {
  it.live("uploads, lists the path an agent reads, and downloads as an attachment", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const res = yield* post(
          url,
          uploadForm([{ name: "notes.txt", type: "text/plain", body: "hello agent" }, {
            name: "x.png",
            type: "image/png",
            body: new Uint8Array([137, 80, 78, 71])
          }])
        )
        assert.strictEqual(res.status, 201)
        const { attachments } = yield* json(res)
        assert.strictEqual(attachments.length, 2)
        const [text, png] = attachments
        assert.match(text.id, /^att-[a-z0-9]+$/)
        assert.strictEqual(text.size, 11)
        assert.isTrue(text.path.startsWith(home))
        assert.strictEqual(yield* Effect.promise(() => fs.readFile(text.path, "utf8")), "hello agent")

        const got = yield* Effect.promise(() => fetch(`${url}/attachments/${text.id}`))
        assert.strictEqual(got.status, 200)
        assert.strictEqual(yield* Effect.promise(() => got.text()), "hello agent")
        assert.strictEqual(got.headers.get("content-type"), "text/plain; charset=utf-8")
        assert.strictEqual(
          got.headers.get("content-disposition"),
          "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
        )
        assert.strictEqual(got.headers.get("x-content-type-options"), "nosniff")
        assert.include(got.headers.get("content-security-policy") ?? "", "sandbox")
        const img = yield* Effect.promise(() => fetch(`${url}/attachments/${png.id}`))
        assert.strictEqual(img.headers.get("content-type"), "image/png")
        assert.deepStrictEqual(
          new Uint8Array(yield* Effect.promise(() => img.arrayBuffer())),
          new Uint8Array([137, 80, 78, 71])
        )

        const refs = yield* Effect.flatMap(Attachments, (a) => a.resolve([png.id, text.id]))
        assert.deepStrictEqual(refs.map((r) => r.id), [png.id, text.id])
      }).pipe(Effect.provide(attachmentServer(home)))
    }).pipe(Effect.scoped))

  it.live("never serves HTML or SVG as something a browser would run", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const res = yield* post(
          url,
          uploadForm([
            { name: "evil.html", type: "text/html", body: "<script>alert(1)</script>" },
            {
              name: "evil.svg",
              type: "image/svg+xml",
              body: "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
            }
          ])
        )
        const { attachments } = yield* json(res)
        for (const a of attachments) {
          const got = yield* Effect.promise(() => fetch(`${url}/attachments/${a.id}`))
          assert.strictEqual(got.headers.get("content-type"), "application/octet-stream")
          assert.match(got.headers.get("content-disposition") ?? "", /^attachment;/)
          assert.strictEqual(got.headers.get("x-content-type-options"), "nosniff")
          yield* Effect.promise(() => got.arrayBuffer())
        }
      }).pipe(Effect.provide(attachmentServer(home)))
    }).pipe(Effect.scoped))

  it.live("answers 413 past the per-file limit and 507 past the quota, keeping nothing partial", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const big = yield* post(
          url,
          uploadForm([{ name: "big.bin", type: "application/octet-stream", body: new Uint8Array(3000) }])
        )
        assert.strictEqual(big.status, 413)
        assert.strictEqual((yield* json(big)).error.code, "payload_too_large")
        for (let i = 0; i < 3; i++) {
          const ok = yield* post(
            url,
            uploadForm([{ name: `f${i}.bin`, type: "application/octet-stream", body: new Uint8Array(1500) }])
          )
          assert.strictEqual(ok.status, 201)
        }
        const full = yield* post(
          url,
          uploadForm([{ name: "more.bin", type: "application/octet-stream", body: new Uint8Array(1600) }])
        )
        assert.strictEqual(full.status, 507)
        assert.strictEqual((yield* json(full)).error.code, "quota_exceeded")
        const usage = yield* Effect.flatMap(Attachments, (a) => a.usage)
        assert.deepStrictEqual(usage, { files: 3, bytes: 4500 })
        const dirs = yield* Effect.promise(() => fs.readdir(`${home}/attachments`))
        assert.strictEqual(dirs.length, 3)
      }).pipe(Effect.provide(attachmentServer(home, { max_bytes: 2048, quota_bytes: 6000 })))
    }).pipe(Effect.scoped))

  it.live("answers 413 to a large upload while the client is still sending", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const big = yield* post(
          url,
          uploadForm([{ name: "big.bin", type: "application/octet-stream", body: new Uint8Array(8 * 1024 * 1024) }])
        )
        assert.strictEqual(big.status, 413)
        assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(`${home}/attachments`)), [])
      }).pipe(Effect.provide(attachmentServer(home, { max_bytes: 1024 * 1024 })))
    }).pipe(Effect.scoped))

  it.live("expires files after the TTL and removes them when a request arrives", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const { attachments } = yield* json(
          yield* post(url, uploadForm([{ name: "a.txt", type: "text/plain", body: "x" }]))
        )
        yield* Effect.sleep("1200 millis")
        const gone = yield* Effect.promise(() => fetch(`${url}/attachments/${attachments[0].id}`))
        assert.strictEqual(gone.status, 404)
        assert.strictEqual((yield* json(gone)).error.code, "attachment_not_found")
        const removed = yield* Effect.flatMap(Attachments, (a) => a.sweep)
        assert.strictEqual(removed, 1)
        assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(`${home}/attachments`)), [])
      }).pipe(Effect.provide(attachmentServer(home, { ttl: "1s" })))
    }).pipe(Effect.scoped))

  it.live("stores all files of an upload or none", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const many = Array.from({ length: 17 }, (_, i) => ({ name: `f${i}.txt`, type: "text/plain", body: "x" }))
        const tooMany = yield* post(url, uploadForm(many))
        assert.strictEqual(tooMany.status, 400)
        assert.include((yield* json(tooMany)).error.message, "at most 16 files")
        const partly = yield* post(
          url,
          uploadForm([
            { name: "ok.bin", type: "application/octet-stream", body: new Uint8Array(100) },
            { name: "big.bin", type: "application/octet-stream", body: new Uint8Array(5000) }
          ])
        )
        assert.strictEqual(partly.status, 413)
        assert.deepStrictEqual(yield* Effect.flatMap(Attachments, (a) => a.usage), { files: 0, bytes: 0 })
        assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(`${home}/attachments`)), [])
      }).pipe(Effect.provide(attachmentServer(home, { max_bytes: 4096 })))
    }).pipe(Effect.scoped))

  it.live("rejects what is not a multipart upload and unknown ids", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        const notForm = yield* Effect.promise(() =>
          fetch(`${url}/attachments`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })
        )
        assert.strictEqual(notForm.status, 400)
        const empty = new FormData()
        empty.append("field", "value")
        assert.strictEqual((yield* post(url, empty)).status, 400)
        const missing = yield* Effect.promise(() => fetch(`${url}/attachments/att-doesnotexist`))
        assert.strictEqual(missing.status, 404)
      }).pipe(Effect.provide(attachmentServer(home)))
    }).pipe(Effect.scoped))
})

describe("attachments in memory", () => {
  const memory = (attachments: Record<string, unknown>) =>
    AttachmentsMemory.pipe(Layer.provide(ConfigMemory(MEMORY_HOME, { daemon: { attachments } })))
  const bytes = (n: number) => Stream.make(new Uint8Array(n))

  it.effect("enforces the same limits and expiry", () =>
    Effect.gen(function*() {
      const a = yield* Attachments
      const ref = yield* a.upload({ name: "../../etc/passwd", contentType: "", content: bytes(10) })
      assert.strictEqual(ref.name, "passwd")
      assert.strictEqual(ref.content_type, "application/octet-stream")
      const tooBig = yield* Effect.exit(a.upload({ name: "b", contentType: "x/y", content: bytes(101) }))
      assert.isTrue(Exit.isFailure(tooBig) && JSON.stringify(tooBig.cause).includes("PayloadTooLarge"))
      yield* a.upload({ name: "c", contentType: "x/y", content: bytes(100) })
      const full = yield* Effect.exit(a.upload({ name: "d", contentType: "x/y", content: bytes(100) }))
      assert.isTrue(Exit.isFailure(full) && JSON.stringify(full.cause).includes("QuotaExceeded"))
      const opened = yield* a.open(ref.id)
      const chunks = yield* Stream.runCollect(opened.content)
      assert.strictEqual([...chunks][0]!.length, 10)
      yield* TestClock.adjust("2 hours")
      const missing = yield* Effect.exit(a.resolve([ref.id]))
      assert.isTrue(Exit.isFailure(missing))
      assert.deepStrictEqual(yield* a.usage, { files: 0, bytes: 0 })
    }).pipe(Effect.provide(memory({ max_bytes: 100, quota_bytes: 150, ttl: "1h" }))))
})

describe("attachment helpers", () => {
  it("keeps file names safe and downloads inert", () => {
    assert.strictEqual(safeFileName(".."), "file")
    assert.strictEqual(safeFileName("a\\b/c:d.txt"), "c_d.txt")
    assert.strictEqual(safeContentType("text/html; charset=utf-8"), "application/octet-stream")
    assert.strictEqual(safeContentType("image/svg+xml"), "application/octet-stream")
    assert.strictEqual(safeContentType("application/json"), "text/plain; charset=utf-8")
    assert.strictEqual(safeContentType("IMAGE/PNG"), "image/png")
    assert.strictEqual(
      contentDisposition("résumé \"x\".pdf"),
      "attachment; filename=\"r_sum_ _x_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22.pdf"
    )
  })
})
