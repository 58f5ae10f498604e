import { readFileSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: any
  readonly text: string
}

/**
 * A request through node:http, so tests control every header (fetch drops a custom Host).
 * The body goes with a Content-Length, as clients send it, or `chunked` without one.
 */
export const request = (
  base: string,
  method: string,
  route: string,
  options: {
    readonly body?: unknown
    readonly raw?: string | Buffer
    readonly headers?: Record<string, string>
    readonly chunked?: boolean
  } = {}
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const url = new URL(route, base)
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
    const req = http.request(url, {
      method,
      headers: {
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let body: unknown = undefined
        try {
          body = text === "" ? undefined : JSON.parse(text)
        } catch {
          body = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text })
      })
    })
    req.on("error", reject)
    if (payload !== undefined && options.chunked === true) req.write(payload)
    req.end(options.chunked === true ? undefined : payload)
  })

export interface Registered {
  readonly peer_id: string
  readonly display_name: string
  readonly circle: string
  readonly token: string
}

export const register = async (
  base: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {}
): Promise<Registered> => {
  const reply = await request(base, "POST", "/peers", { body, headers })
  if (reply.status !== 201) throw new Error(`register failed: ${reply.status} ${reply.text}`)
  return reply.body as Registered
}

export const as = (peer: Registered) => ({ "x-repowire-peer-token": peer.token })

/** The local human credential of a daemon's home, as the CLI presents it to register as a human. */
export const asHuman = (home: string) => ({
  "x-repowire-human-credential": readFileSync(path.join(home, "human.token"), "utf8").trim()
})

/** A dashboard page's credential: the session cookie that loading the page sets. */
export const dashboardSession = async (base: string): Promise<Record<string, string>> => {
  const page = await request(base, "GET", "/dashboard")
  const cookie = String(page.headers["set-cookie"]?.[0] ?? "").split(";")[0]
  if (cookie === undefined || cookie === "") throw new Error(`no session cookie from /dashboard: ${page.status}`)
  return { cookie, origin: new URL(base).origin }
}
