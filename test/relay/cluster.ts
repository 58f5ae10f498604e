import { type ChildProcess, spawn } from "node:child_process"
import * as https from "node:https"
import * as net from "node:net"
import WebSocket from "ws"
import { BIN } from "../support/Process.js"

export interface Replica {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  readonly output: () => string
}

/** A free loopback port (a replica must know its own --internal-url before it listens). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** `repowire relay serve` as a replica: TLS from `cert`, the shared PostgreSQL, the cluster secret. */
export const spawnReplica = async (
  home: string,
  cert: { readonly certFile: string; readonly keyFile: string },
  databaseUrl: string,
  secret: string,
  /** Node flags before the script (the bench's --cpu-prof, for one), and more `relay serve` flags. */
  extra: { readonly nodeArgs?: ReadonlyArray<string>; readonly args?: ReadonlyArray<string> } = {}
): Promise<Replica> => {
  const port = await freePort()
  const url = `https://127.0.0.1:${port}`
  const child = spawn(process.execPath, [
    ...extra.nodeArgs ?? [],
    BIN,
    ...["relay", "serve", "--host", "127.0.0.1", "--port", String(port)],
    ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--internal-url", url],
    ...extra.args ?? []
  ], {
    // The secret and URL by environment, as a container would get them; the replicas trust the test CA.
    env: {
      ...process.env,
      REPOWIRE_HOME: home,
      NO_COLOR: "1",
      NODE_EXTRA_CA_CERTS: cert.certFile,
      REPOWIRE_RELAY__DATABASE_URL: databaseUrl,
      REPOWIRE_RELAY__CLUSTER_SECRET: secret
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout!.on("data", (c) => (out += c))
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (c) => {
      out += c
      if (out.includes("listening on")) resolve()
    })
    child.on("exit", () => reject(new Error(`replica exited: ${out}`)))
  })
  return { child, port, url, output: () => out }
}

/** A TCP round-robin balancer: each connection to the next replica that accepts it (TLS passes through). */
export const roundRobin = async (ports: ReadonlyArray<number>) => {
  let next = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    sockets.add(client)
    client.on("close", () => sockets.delete(client))
    client.pause()
    const attempt = (tries: number) => {
      if (tries === 0) return client.destroy()
      const port = ports[next++ % ports.length]!
      const upstream = net.connect(port, "127.0.0.1")
      upstream.once("error", () => attempt(tries - 1))
      upstream.once("connect", () => {
        upstream.removeAllListeners("error")
        sockets.add(upstream)
        upstream.on("close", () => (sockets.delete(upstream), client.destroy()))
        upstream.on("error", () => client.destroy())
        client.on("close", () => upstream.destroy())
        client.on("error", () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(ports.length)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `https://127.0.0.1:${port}`,
    close: () => (sockets.forEach((s) => s.destroy()), new Promise<void>((r) => server.close(() => r())))
  }
}

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

export const get = (url: string, ca: Buffer, headers: Record<string, string> = {}, method = "GET", body?: string) =>
  new Promise<Reply>((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, agent: false }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

/** An SSE stream read until `done` says so. */
export const sseUntil = (url: string, ca: Buffer, cookie: string, done: (text: string) => boolean) =>
  new Promise<string>((resolve, reject) => {
    let text = ""
    const req = https.get(url, { headers: { cookie, accept: "text/event-stream" }, ca, agent: false }, (res) => {
      res.on("data", (c: Buffer) => {
        text += c.toString()
        if (done(text)) {
          resolve(text)
          req.destroy()
        }
      })
    })
    req.on("error", reject)
    setTimeout(() => (req.destroy(), reject(new Error(`SSE timed out: ${text}`))), 5_000)
  })

/** The browser's live WebSocket read until `done` says so. */
export const wsUntil = (base: string, ca: Buffer, cookie: string, done: (text: string) => boolean) =>
  new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("https", "wss")}/events/ws?since=0`, {
      headers: { cookie, origin: base },
      ca
    })
    let all = ""
    ws.on("message", (m) => {
      all += m.toString()
      if (done(all)) {
        ws.close()
        resolve(all)
      }
    })
    ws.on("unexpected-response", (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)))
    ws.on("error", reject)
    setTimeout(() => (ws.terminate(), reject(new Error(`WebSocket timed out: ${all}`))), 5_000)
  })

export const until = async <A>(what: string, timeoutMs: number, probe: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`)
}

/**
 * A TCP balancer that sends each new connection to `ports[target]` (TLS passes through).
 * `sever()` cuts the client side of every connection and leaves the replica's side open and
 * silent: the replica's link is half-open, as after a lost network path.
 */
export const steerable = async (ports: ReadonlyArray<number>) => {
  let target = 0
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; severed: boolean }>()
  const server = net.createServer((client) => {
    client.pause()
    const upstream = net.connect(ports[target]!, "127.0.0.1")
    const pair = { client, upstream, severed: false }
    pairs.add(pair)
    upstream.once("connect", () => {
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    const end = () => {
      if (pair.severed) return
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    for (const s of [client, upstream]) s.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `https://127.0.0.1:${port}`,
    steer: (index: number) => void (target = index),
    sever: () => {
      for (const pair of pairs) {
        pair.severed = true
        pair.client.unpipe(pair.upstream)
        pair.upstream.unpipe(pair.client)
        pair.upstream.pause()
        pair.client.destroy()
      }
    },
    close: () => {
      for (const { client, upstream } of pairs) client.destroy(), upstream.destroy()
      return new Promise<void>((r) => server.close(() => r()))
    }
  }
}
