import { Data, Effect, Either, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import { KeyIssued } from "../../protocol/RelayApi.js"

export class RelayCallError extends Data.TaggedError("RelayCallError")<{ readonly message: string }> {}

/** The relay's HTTPS base for API calls, whatever scheme config.yaml holds. */
export const relayApiBase = (url: string): string => {
  const u = new URL(url)
  u.protocol = u.protocol === "wss:" ? "https:" : u.protocol === "ws:" ? "http:" : u.protocol
  return u.toString().replace(/\/+$/, "")
}

const decodeIssued = Schema.decodeUnknownEither(Schema.parseJson(KeyIssued))

/** POSTs to a relay API route and decodes a KeyIssued answer. */
export const postForKey = (
  url: string,
  options: { readonly bearer?: string; readonly body?: unknown; readonly ca?: string | Buffer | undefined }
) =>
  Effect.async<KeyIssued, RelayCallError>((resume) => {
    const target = new URL(url)
    const body = JSON.stringify(options.body ?? {})
    const client = target.protocol === "https:" ? https : http
    const req = client.request(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        ...(options.bearer === undefined ? {} : { authorization: `Bearer ${options.bearer}` })
      },
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      timeout: 15_000
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        if ((res.statusCode ?? 0) >= 300) {
          const message = /"message":"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 200)
          return resume(
            Effect.fail(new RelayCallError({ message: `the relay answered ${res.statusCode}: ${message}` }))
          )
        }
        const decoded = decodeIssued(text)
        resume(
          Either.isRight(decoded)
            ? Effect.succeed(decoded.right)
            : Effect.fail(new RelayCallError({ message: "the relay's answer was not a key" }))
        )
      })
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on(
      "error",
      (e) => resume(Effect.fail(new RelayCallError({ message: `cannot reach the relay at ${url}: ${e.message}` })))
    )
    req.end(body)
  })

/** Asks the local daemon to reload its relay config; false when no daemon answers. */
export const notifyDaemon = (host: string, port: number, authToken: string | null) =>
  Effect.async<boolean>((resume) => {
    const req = http.request({
      host,
      port,
      path: "/relay/reconnect",
      method: "POST",
      headers: { host: `127.0.0.1:${port}`, ...(authToken === null ? {} : { authorization: `Bearer ${authToken}` }) },
      timeout: 5_000
    }, (res) => {
      res.resume()
      resume(Effect.succeed((res.statusCode ?? 0) < 300))
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resume(Effect.succeed(false)))
    req.end()
  })
