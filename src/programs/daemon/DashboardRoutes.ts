import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { AuthToken } from "../../services/AuthToken.js"
import { Config } from "../../services/Config.js"
import { SealedDevice, Tunnelled } from "../../services/RequestContext.js"
import { assetContentType, type DashboardAssets, defaultAssetsDir, loadDashboardAssets } from "./DashboardAssets.js"
import { hasDashboardSession, withNewSession, withoutSession } from "./DashboardSession.js"
import { type LoaderPage, loadLoaderPage, textOnlyLoader } from "./LoaderPage.js"
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
const redirect = (location: string) =>
  HttpServerResponse.empty({ status: 303, headers: { location, "cache-control": "no-store" } })

/** Whether this request may see the page: through the relay, with no token set, or with a session. */
const mayView = Effect.gen(function*() {
  const auth = yield* AuthToken
  if (!auth.required || (yield* Tunnelled)) return true
  return hasDashboardSession(auth, yield* HttpServerRequest.HttpServerRequest)
})

/** Through the relay, with `relay.e2e: required`, outside a sealed channel: the fixed pair page. */
const needsPairing = Effect.gen(function*() {
  if (!(yield* Tunnelled) || (yield* SealedDevice) !== undefined) return false
  return (yield* Config).values.relay.e2e === "required"
})

const loaderResponse = (page: LoaderPage) =>
  HttpServerResponse.text(page.html, {
    contentType: "text/html; charset=utf-8",
    headers: { ...pageHeaders, "content-security-policy": page.csp, "cache-control": "no-store" }
  })

const notBuilt = html(
  "<!doctype html><title>repowire</title><p>The dashboard is not built. Run <code>npm run build</code>.</p>",
  503
)

export const makeDashboardRoutes = (assets: DashboardAssets | undefined, loaderPage: LoaderPage = textOnlyLoader) => {
  const loader = loaderResponse(loaderPage)
  const index = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // The router also matches /dashboard/, where the page's relative URLs would point elsewhere.
    if (request.url.split("?")[0]!.endsWith("/")) return redirect("../dashboard")
    if (yield* needsPairing) return loader
    if (!(yield* mayView)) return redirect("dashboard/login")
    const page = assets === undefined ? notBuilt : html(assets.indexHtml)
    // Through the relay the relay's own session stands for the browser.
    if (yield* Tunnelled) return page
    // The page's credential: a fresh session for each load (the previous one ends).
    return yield* withNewSession(yield* AuthToken, request, page)
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
    const auth = yield* AuthToken
    if (!auth.required || (yield* mayView)) return redirect("../dashboard")
    return html(loginPage({ css }))
  }).pipe(Effect.withSpan("Dashboard.showLogin"))

  const login = Effect.gen(function*() {
    const auth = yield* AuthToken
    const request = yield* HttpServerRequest.HttpServerRequest
    const form = yield* request.urlParamsBody.pipe(Effect.orElseSucceed(() => []))
    const token = form.find(([key]) => key === "token")?.[1] ?? ""
    if (!auth.required) return redirect("../dashboard")
    if (token === "") return html(loginPage({ css, error: "Enter the daemon's auth token." }), 400)
    const check = auth.check(token, Option.getOrElse(request.remoteAddress, () => "local"))
    if (check === "limited") {
      return html(loginPage({ css, error: "Too many wrong tokens. Wait a minute and try again." }), 429)
    }
    if (check !== "ok") {
      yield* Effect.sleep("300 millis")
      return html(loginPage({ css, error: "That token is not the daemon's auth token." }), 401)
    }
    return yield* withNewSession(auth, request, redirect("../dashboard"))
  }).pipe(Effect.withSpan("Dashboard.login"))

  const logout = Effect.gen(function*() {
    return yield* withoutSession(yield* AuthToken, yield* HttpServerRequest.HttpServerRequest, redirect("../dashboard"))
  }).pipe(Effect.withSpan("Dashboard.logout"))

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
  Effect.sync(() => {
    const dir = defaultAssetsDir()
    return makeDashboardRoutes(loadDashboardAssets(dir), loadLoaderPage(dir))
  })
)
