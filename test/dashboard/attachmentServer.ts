import { HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { AttachmentRoutes } from "../../src/programs/daemon/AttachmentRoutes.js"
import { Attachments } from "../../src/services/Attachments.js"
import { attachmentsLayer, serveOnLoopback } from "../support/Layers.js"

export const tempHome = () =>
  Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "repowire-att-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

/** A tiny server with only the attachment routes, on SQLite in a temp home. */
export const attachmentServer = (home: string, attachments: Record<string, unknown> = {}) =>
  serveOnLoopback(AttachmentRoutes).pipe(Layer.provideMerge(attachmentsLayer(home, { daemon: { attachments } })))

export const baseUrl = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

export const uploadForm = (
  files: ReadonlyArray<{ name: string; type: string; body: string | Uint8Array<ArrayBuffer> }>
) => {
  const form = new FormData()
  for (const f of files) form.append("file", new Blob([f.body], { type: f.type }), f.name)
  return form
}

export { Attachments }
