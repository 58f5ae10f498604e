import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as net from "node:net"
import WebSocket from "ws"
import { startDaemon, tempHome, type TestDaemon } from "../support/Daemon.js"
import { as, asHuman, register, type Registered, request } from "../support/Http.js"
import { BIN } from "../support/Process.js"

export { asHuman }

/** A TCP hop between the daemons and the relay that keeps every byte it carries, both ways. */
export const recordingHop = (target: number) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; bytes: () => Buffer; server: net.Server }>((resume) => {
      const chunks: Array<Buffer> = []
      const server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1")
        client.on("data", (c: Buffer) => chunks.push(c))
        upstream.on("data", (c: Buffer) => chunks.push(c))
        client.pipe(upstream).pipe(client)
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
    ({ server }) => Effect.sync(() => server.close())
  )

/**
 * A TCP hop between a daemon and the relay that can swallow what the daemon sends (`swallow`),
 * cut every connection through it (`cut`: the daemon's sessions break and it dials again), and
 * cut them once `bytes` more have gone towards the daemon (`cutAfter`: in the middle of a transfer).
 */
export const lossyHop = (target: number) =>
  Effect.acquireRelease(
    Effect.async<{
      port: number
      swallow: (on: boolean) => void
      cut: () => void
      cutAfter: (bytes: number) => Promise<void>
      server: net.Server
    }>((resume) => {
      let swallowing = false
      let towardsDaemon = 0
      let trip: { at: number; done: () => void } | undefined
      const sockets = new Set<net.Socket>()
      const cut = () => sockets.forEach((s) => s.destroy())
      const server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1")
        sockets.add(client).add(upstream)
        client.on("data", (c: Buffer) => swallowing || upstream.write(c))
        upstream.on("data", (c: Buffer) => {
          client.write(c)
          towardsDaemon += c.length
          if (trip === undefined || towardsDaemon < trip.at) return
          const { done } = trip
          trip = undefined
          cut()
          done()
        })
        for (const s of [client, upstream]) {
          s.on("error", () => (client.destroy(), upstream.destroy()))
          s.on("close", () => (client.destroy(), upstream.destroy(), sockets.delete(s)))
        }
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as net.AddressInfo).port,
          swallow: (on) => void (swallowing = on),
          cut,
          cutAfter: (bytes) => new Promise<void>((done) => void (trip = { at: towardsDaemon + bytes, done })),
          server
        })))
    }),
    ({ server }) => Effect.sync(() => server.close())
  )

export interface MeshDaemon extends TestDaemon {
  readonly machine: string
}

/** A real daemon (port 0, its own home) with the relay link on, named `machine`; `daemon` adds to its daemon section. */
export const meshDaemon = async (
  relayUrl: string,
  key: string,
  machine: string,
  home?: string,
  daemonConfig: Record<string, unknown> = {}
) => {
  const dir = home ?? await tempHome("rw-mesh-")
  const daemon = await startDaemon({
    daemon: { machine_name: machine, ...daemonConfig },
    relay: { enabled: true, url: relayUrl, api_key: key, daemon_id: machine, e2e: "off" }
  }, dir)
  return { ...daemon, machine }
}

export const human = (d: TestDaemon) => ({ headers: asHuman(d.home) })

export const pair = async (d: TestDaemon) => {
  const reply = await request(d.url, "POST", "/mesh/pair", human(d))
  if (reply.status !== 201) throw new Error(`pair: ${reply.status} ${reply.text}`)
  return reply.body.code as string
}

export const join = (d: TestDaemon, code: string) =>
  request(d.url, "POST", "/mesh/join", { ...human(d), body: { code } })

/** A notify from `from` (its token) to `to`, as an agent sends it. */
export const notify = (url: string, from: { peer_id: string; token: string }, to: string, text: string) =>
  request(url, "POST", "/notify", { headers: as(from as never), body: { from_peer: from.peer_id, to_peer: to, text } })

export const links = async (d: TestDaemon) =>
  (await request(d.url, "GET", "/mesh/links", human(d))).body.links as Array<{ machine: string; status: string }>

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A pause for what must NOT happen (a second delivery) to have had its chance. */
export const settle = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until the ask `correlationId` reads `delivered` on daemon `d`, as `peer` sees it; returns the ask. */
export const askDelivered = (
  d: TestDaemon,
  peer: Registered,
  correlationId: string,
  timeoutMs?: number
) =>
  until(`the ask delivered on ${d.url}`, async () => {
    const ask = (await request(d.url, "GET", `/asks/${correlationId}`, { headers: as(peer) })).body
    return ask.state === "delivered" ? ask : undefined
  }, timeoutMs)

export const linked = (d: TestDaemon, machine: string) =>
  until(`${machine} linked`, async () => (await links(d)).find((l) => l.machine === machine && l.status === "linked"))

export const peersOf = async (d: TestDaemon) =>
  (await request(d.url, "GET", "/peers")).body.peers as Array<
    { peer_id: string; display_name: string; machine: string; status: string }
  >

/** `pairer` makes a code, `joiner` (machine `joinerMachine`) joins with it; waits until the pairer lists the link. */
export const linkMachines = async (pairer: TestDaemon, joiner: TestDaemon, joinerMachine: string) => {
  const joined = await join(joiner, await pair(pairer))
  if (joined.status !== 200) throw new Error(`join: ${joined.status} ${joined.text}`)
  await linked(pairer, joinerMachine)
}

/** Waits until `d` lists `peer` (of another machine) as online. */
export const onlineOn = (d: TestDaemon, peer: { readonly peer_id: string }) =>
  until(
    `${peer.peer_id} online`,
    async () => (await peersOf(d)).find((p) => p.peer_id === peer.peer_id && p.status !== "offline")
  )

/** An agent's live transport (/ws): it confirms every message it gets and keeps them. */
export const agentSocket = (d: TestDaemon, peer: Registered) =>
  new Promise<{
    frames: Array<Record<string, unknown>>
    /** The first frame (already here or still to come) that `match` accepts. */
    next: (match: (frame: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>
    close: () => void
  }>((resolve, reject) => {
    const frames: Array<Record<string, unknown>> = []
    const waiters = new Set<
      { match: (f: Record<string, unknown>) => boolean; done: (f: Record<string, unknown>) => void }
    >()
    const next = (match: (frame: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((done) => {
        const found = frames.find(match)
        if (found !== undefined) return done(found)
        waiters.add({ match, done })
      })
    const ws = new WebSocket(`${d.url.replace("http", "ws")}/ws`)
    ws.on("open", () => ws.send(JSON.stringify({ type: "connect", peer_id: peer.peer_id, token: peer.token })))
    ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>
      if (frame.type === "connected") return resolve({ frames, next, close: () => ws.terminate() })
      if (frame.type === "ping") return ws.send(JSON.stringify({ type: "pong", nonce: frame.nonce }))
      frames.push(frame)
      for (const waiter of waiters) {
        if (!waiter.match(frame)) continue
        waiters.delete(waiter)
        waiter.done(frame)
      }
      if (typeof frame.message_id === "string") {
        ws.send(JSON.stringify({ type: "delivery_ack", message_id: frame.message_id, outcome: "received" }))
      }
    })
    ws.on("error", reject)
  })

export { as, register, request }

/** The built CLI against a daemon in this process: asynchronous, so the daemon can answer it. */
export const cliAsync = (home: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, REPOWIRE_HOME: home, NO_COLOR: "1" },
      timeout: 30_000
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })

/**
 * The usual cast: `front` (claude-code) on `laptop`, `api` (codex) on `server` with its agent
 * socket open, the machines linked (server joined laptop's code) and api online on the laptop.
 */
export const frontAndApi = async (laptop: TestDaemon, server: TestDaemon) => {
  const front = await register(laptop.url, { name: "front", backend: "claude-code" })
  const api = await register(server.url, { name: "api", backend: "codex" })
  const socket = await agentSocket(server, api)
  await linkMachines(laptop, server, "server")
  await onlineOn(laptop, api)
  return { front, api, socket }
}
