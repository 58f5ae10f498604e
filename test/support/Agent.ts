import WebSocket from "ws"
import type { Registered } from "./Http.js"

export interface AgentConnection {
  readonly socket: WebSocket
  /** Resolves with the next frame of `type` (frames are kept in arrival order). */
  readonly next: (type?: string, timeoutMs?: number) => Promise<any>
  readonly frames: Array<any>
  readonly send: (frame: unknown) => void
  readonly closed: Promise<{ code: number; reason: string }>
  readonly close: () => void
}

/** A fake agent transport on /ws: raw `ws`, so tests can send anything. */
export const openSocket = (base: string, headers: Record<string, string> = {}): Promise<AgentConnection> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(base.replace(/^http/, "ws") + "/ws", { headers })
    const frames: Array<any> = []
    const waiters: Array<() => void> = []
    socket.on("message", (data) => {
      frames.push(JSON.parse(String(data)))
      waiters.splice(0).forEach((w) => w())
    })
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      socket.on("close", (code, reason) => r({ code, reason: String(reason) }))
    )
    let cursor = 0
    const next = (type?: string, timeoutMs = 5000) =>
      new Promise<any>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no ${type ?? "frame"} within ${timeoutMs}ms`)), timeoutMs)
        const check = () => {
          while (cursor < frames.length) {
            const frame = frames[cursor++]
            if (type === undefined || frame.type === type) {
              clearTimeout(timer)
              return res(frame)
            }
          }
          waiters.push(check)
        }
        check()
      })
    socket.on("open", () =>
      resolve({
        socket,
        frames,
        next,
        send: (frame) => socket.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
        closed,
        close: () => socket.close()
      }))
    socket.on("error", reject)
  })

/** Opens /ws and completes the `connect` handshake for a registered peer. */
export const connectAgent = async (base: string, peer: Registered, extra: Record<string, unknown> = {}) => {
  const connection = await openSocket(base)
  connection.send({ type: "connect", peer_id: peer.peer_id, token: peer.token, ...extra })
  await connection.next("connected")
  return connection
}
