/** HTTP(S) load for relay benches: keep-alive GETs at a fixed concurrency, a key login, polling. */
import * as http from "node:http"
import * as https from "node:https"

export interface Target {
  readonly url: string
  readonly headers: Record<string, string>
  readonly agent: http.Agent
}

export const get = (t: Target, route: string, onData?: (n: number) => void) =>
  new Promise<number>((resolve, reject) => {
    const lib = t.url.startsWith("https") ? https : http
    const req = lib.get(`${t.url}${route}`, { headers: t.headers, agent: t.agent }, (res) => {
      let bytes = 0
      res.on("data", (c: Buffer) => {
        bytes += c.length
        onData?.(bytes)
      })
      res.on("end", () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${route}: ${res.statusCode}`))))
    })
    req.on("error", reject)
  })

export const smallGets = async (t: Target, total: number, concurrency: number) => {
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) {
      const t0 = performance.now()
      await get(t, "/health")
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { p50: latencies[Math.floor(latencies.length / 2)]!, rps: latencies.length / elapsed }
}

export const login = (base: string, ca: Buffer, key: string) =>
  new Promise<string>((resolve, reject) => {
    const req = https.request(`${base}/auth`, {
      method: "POST",
      ca,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base }
    }, (res) => {
      res.resume()
      const cookie = String(res.headers["set-cookie"]?.[0] ?? "").split(";")[0]!
      res.statusCode === 303 ? resolve(cookie) : reject(new Error(`login: ${res.statusCode}`))
    })
    req.on("error", reject)
    req.end(`key=${encodeURIComponent(key)}`)
  })

export const waitFor = async (check: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
