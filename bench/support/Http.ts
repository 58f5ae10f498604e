import * as http from "node:http"

export const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

/** A JSON POST on a keep-alive agent; a status of 300 or more rejects. */
export const post = (base: string, route: string, body: unknown, headers: Record<string, string> = {}) =>
  new Promise<any>((resolve, reject) => {
    const payload = JSON.stringify(body)
    const req = http.request(new URL(route, base), {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers }
    }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on(
        "end",
        () => (res.statusCode! < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode} ${text}`)))
      )
    })
    req.on("error", reject)
    req.end(payload)
  })
