import { Effect } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import WebSocket from "ws"
import { type ChannelSocket, SealedChannel } from "../../src/protocol/sealed/ChannelClient.js"
import { pairWith } from "../../src/protocol/sealed/PairingClient.js"
import type { KeyPair } from "../../src/protocol/sealed/Primitives.js"

/** A TCP proxy between the daemon and the relay that keeps every byte that crosses it. */
export const recordingHop = (target: number) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; bytes: () => Buffer; server: net.Server }>((resume) => {
      const chunks: Array<Buffer> = []
      const server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1")
        client.on("data", (d: Buffer) => {
          chunks.push(Buffer.from(d))
          upstream.write(d)
        })
        upstream.on("data", (d: Buffer) => {
          chunks.push(Buffer.from(d))
          client.write(d)
        })
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as net.AddressInfo).port,
          bytes: () => Buffer.concat(chunks),
          server
        })))
    }),
    (hop) => Effect.sync(() => hop.server.close())
  )

/** Signs in at a plain relay with a key; the session cookie. */
export const loginPlain = (base: string, key: string) =>
  Effect.promise(async () => {
    const res = await fetch(`${base}/auth`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
      body: `key=${encodeURIComponent(key)}`,
      redirect: "manual"
    })
    return (res.headers.get("set-cookie") ?? "").split(";")[0]!
  })

/** A plain HTTP call to the relay as the browser makes it (its cookie, the relay's Origin). */
export const relayCall = (
  base: string,
  cookie: string,
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; text: string; body: any }> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(new URL(path, base), {
      method,
      headers: {
        cookie,
        origin: base,
        accept: "text/html, application/json",
        ...(payload === undefined ? {} : { "content-type": "application/json" })
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed })
      })
    })
    req.on("error", reject)
    req.end(payload)
  })

/** Pairs `key` with the daemon through the relay, as the page does with its `#pair=` secret. */
export const pairThroughRelay = (base: string, cookie: string, secret: string, key: KeyPair) =>
  pairWith((path, body) => relayCall(base, cookie, "POST", path, body), secret, key, "test browser")

/** The relay's WebSocket to `/sealed/channel`, open; `ws` stands in for the browser's. */
export const openSocket = (base: string, cookie: string) =>
  new Promise<ChannelSocket>((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/sealed/channel`, { headers: { cookie, origin: base } })
    ws.once("open", () => resolve(ws as unknown as ChannelSocket))
    ws.once("error", reject)
  })

export const openChannel = async (base: string, cookie: string, key: KeyPair, daemonKey: Uint8Array) =>
  SealedChannel.open(await openSocket(base, cookie), key, daemonKey)

export const readAll = async (body: ReadableStream<Uint8Array>) => {
  const chunks: Array<Uint8Array> = []
  const reader = body.getReader()
  while (true) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/** Reads an event stream until `until` shows in it. */
export const readUntil = async (body: ReadableStream<Uint8Array>, until: string) => {
  const reader = body.getReader()
  let text = ""
  while (!text.includes(until)) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  return { text, reader }
}
