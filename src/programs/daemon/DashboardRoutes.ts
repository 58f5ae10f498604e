import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Config } from "../../services/Config.js"
import { Tunnelled } from "../../services/RequestContext.js"
import { type DashboardAssets, assetContentType, defaultAssetsDir, loadDashboardAssets } from "./DashboardAssets.js"
import {
  dashboardSessionValid,
  loginTokenValid,
  SESSION_COOKIE,
  SESSION_MAX_AGE_S,
  sessionCookieValue
} from "./DashboardSession.js"
import { loginPage } from "./LoginPage.js"

/** No inline script or style, no framing, connections only back to where the page came from. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

const pageHeaders = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts,
  // which the guard (rightly) refuses.
  "referrer-policy": "same-origin",
  "cache-control": "no-cache"
}

const html = (body: string, status = 200) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })

// Relative redirects, so they work at /dashboard on the daemon and wherever the relay mounts it.
const redirect = (location: string) => HttpServerResponse.empty({ status: 303, headers: { location, "cache-control": "no-store" } })

/** Whether this request may see the page: through the relay, with no token set, or with the session cookie. */
const mayView = Effect.gen(function*() {
  const config = yield* Config
  if (config.authToken === undefined || (yield* Tunnelled)) return true
  return dashboardSessionValid(yield* HttpServerRequest.HttpServerRequest, config)
})

const notBuilt = html(
  "<!doctype html><title>repowire</title><p>The dashboard is not built. Run <code>npm run build</code>.</p>",
  503
)

export const makeDashboardRoutes = (assets: DashboardAssets | undefined) => {
  const index = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // The router also matches /dashboard/, where the page's relative URLs would point elsewhere.
    if (request.url.split("?")[0]!.endsWith("/")) return redirect("../dashboard")
    if (!(yield* mayView)) return redirect("dashboard/login")
    return assets === undefined ? notBuilt : html(assets.indexHtml)
  })

  const asset = Effect.gen(function*() {
    const { file } = yield* HttpLayerRouter.params
    const bytes = file === undefined ? undefined : assets?.files.get(file)
    if (bytes === undefined) return HttpServerResponse.text("not found", { status: 404 })
    return HttpServerResponse.uint8Array(bytes, {
      contentType: assetContentType(file!),
      headers: { "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff" }
    })
  })

  const css = assets?.css === undefined ? undefined : `assets/${assets.css}`

  const showLogin = Effect.gen(function*() {
    const config = yield* Config
    if (config.authToken === undefined || (yield* mayView)) return redirect("../dashboard")
    return html(loginPage({ css }))
  })

  const login = Effect.gen(function*() {
    const config = yield* Config
    const request = yield* HttpServerRequest.HttpServerRequest
    const form = yield* request.urlParamsBody.pipe(Effect.orElseSucceed(() => []))
    const token = form.find(([key]) => key === "token")?.[1] ?? ""
    if (config.authToken === undefined) return redirect("../dashboard")
    if (token === "") return html(loginPage({ css, error: "Enter the daemon's auth token." }), 400)
    if (!loginTokenValid(token, config)) {
      yield* Effect.sleep("300 millis")
      return html(loginPage({ css, error: "That token is not the daemon's auth token." }), 401)
    }
    return yield* redirect("../dashboard").pipe(
      HttpServerResponse.setCookie(SESSION_COOKIE, sessionCookieValue(config.authToken), {
        path: "/",
        httpOnly: true,
        sameSite: "strict",
        maxAge: `${SESSION_MAX_AGE_S} seconds`
      }),
      Effect.orDie
    )
  })

  const logout = redirect("../dashboard").pipe(
    HttpServerResponse.setCookie(SESSION_COOKIE, "", { path: "/", httpOnly: true, sameSite: "strict", maxAge: 0 }),
    Effect.orDie
  )

  return Layer.mergeAll(
    HttpLayerRouter.add("GET", "/dashboard", index),
    HttpLayerRouter.add("GET", "/dashboard/assets/:file", asset),
    HttpLayerRouter.add("GET", "/dashboard/login", showLogin),
    HttpLayerRouter.add("POST", "/dashboard/login", login),
    HttpLayerRouter.add("POST", "/dashboard/logout", logout)
  )
}

/** The dashboard routes on the build found beside the program (dist/dashboard). */
export const DashboardRoutes = Layer.unwrapEffect(
  Effect.sync(() => makeDashboardRoutes(loadDashboardAssets(defaultAssetsDir())))
)
