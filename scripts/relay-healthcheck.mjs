// Docker HEALTHCHECK for `repowire relay serve`: the relay's own /_relay/health on loopback,
// over HTTPS (its own certificate, not verified here) or plain HTTP (--behind-proxy).
import http from "node:http"
import https from "node:https"

const port = Number(process.env.RELAY_PORT ?? 8443)
const probe = (lib, extra) =>
  new Promise((resolve) => {
    const req = lib.get({ host: "127.0.0.1", port, path: "/_relay/health", timeout: 3000, ...extra }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(false))
  })

const ok = (await probe(https, { rejectUnauthorized: false })) || (await probe(http, {}))
process.exit(ok ? 0 : 1)
