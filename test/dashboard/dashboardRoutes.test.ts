import { HttpServerRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { buildDashboard } from "../../dashboard/build.mjs"
import { loadDashboardAssets } from "../../src/programs/daemon/DashboardAssets.js"
import { makeDashboardRoutes } from "../../src/programs/daemon/DashboardRoutes.js"
import { hasDashboardSession } from "../../src/programs/daemon/DashboardSession.js"
import { AuthToken, sessionCookieName } from "../../src/services/AuthToken.js"
import { gateLayer, serveOnLoopback } from "../support/Layers.js"
import { baseUrl, tempHome } from "./attachmentServer.js"

const TOKEN = "a-very-secret-token-0123456789"

const server = (home: string, outDir: string, daemon: Record<string, unknown>) =>
  serveOnLoopback(makeDashboardRoutes(loadDashboardAssets(outDir))).pipe(
    Layer.provideMerge(gateLayer(home, { daemon }))
  )

const get = (url: string, init: RequestInit = {}) => Effect.promise(() => fetch(url, { redirect: "manual", ...init }))
const text = (r: Response) => Effect.promise(() => r.text())

const withBuild = <A, E, R>(f: (home: string, outDir: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const home = yield* tempHome()
    const outDir = path.join(home, "dist-dashboard")
    const manifest = yield* Effect.promise(() => buildDashboard({ outDir, quiet: true }))
    assert.isBelow(manifest.jsGzipBytes, 100 * 1024)
    return yield* f(home, outDir)
  }).pipe(Effect.scoped)

describe("dashboard routes", () => {
  it.live("serves the page with a strict CSP and hashed assets with a long cache", () =>
    withBuild((home, outDir) =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const page = yield* get(`${url}/dashboard`)
        assert.strictEqual(page.status, 200)
        const csp = page.headers.get("content-security-policy") ?? ""
        assert.include(csp, "script-src 'self'")
        assert.include(csp, "default-src 'self'")
        assert.notInclude(csp, "unsafe-inline")
        assert.strictEqual(page.headers.get("x-frame-options"), "DENY")
        const body = yield* text(page)
        assert.notMatch(body, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script")
        assert.notMatch(body, /(src|href)="\//, "relative URLs only")
        const js = /src="(dashboard\/assets\/app-[^"]+\.js)"/.exec(body)![1]!
        const asset = yield* get(`${url}/${js}`)
        assert.strictEqual(asset.status, 200)
        assert.strictEqual(asset.headers.get("content-type"), "text/javascript; charset=utf-8")
        assert.include(asset.headers.get("cache-control") ?? "", "immutable")
        yield* text(asset)
        const css = /href="(dashboard\/assets\/style-[^"]+\.css)"/.exec(body)![1]!
        assert.strictEqual((yield* get(`${url}/${css}`)).headers.get("content-type"), "text/css; charset=utf-8")
        assert.strictEqual((yield* get(`${url}/dashboard/assets/nope.js`)).status, 404)
        const slash = yield* get(`${url}/dashboard/`)
        assert.strictEqual(slash.status, 303)
        assert.strictEqual(new URL(slash.headers.get("location")!, `${url}/dashboard/`).pathname, "/dashboard")
        // Without a token there is nothing to log in to; the page still gets its own credential.
        assert.strictEqual((yield* get(`${url}/dashboard/login`)).status, 303)
        const port = new URL(url).port
        const cookie = page.headers.get("set-cookie") ?? ""
        assert.match(cookie, new RegExp(`^repowire_session_${port}=[A-Za-z0-9_-]{43};`))
        assert.match(cookie, /HttpOnly/i)
        assert.match(cookie, /SameSite=Strict/i)
      }).pipe(Effect.provide(server(home, outDir, {})))
    ))

  it.live("with an auth token: each login sets a fresh random session that the guard accepts, until logout", () =>
    withBuild((home, outDir) =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const page = yield* get(`${url}/dashboard`)
        assert.strictEqual(page.status, 303)
        assert.strictEqual(new URL(page.headers.get("location")!, `${url}/dashboard`).pathname, "/dashboard/login")
        const form = yield* get(`${url}/dashboard/login`)
        assert.strictEqual(form.status, 200)
        const formHtml = yield* text(form)
        assert.include(formHtml, "name=\"token\"")
        assert.notInclude(formHtml, "<script")

        const post = (token: string) =>
          get(`${url}/dashboard/login`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ token }).toString()
          })
        const wrong = yield* post("not-the-token-000000")
        assert.strictEqual(wrong.status, 401)
        assert.isNull(wrong.headers.get("set-cookie"))
        assert.include(yield* text(wrong), "not the daemon")

        const ok = yield* post(TOKEN)
        assert.strictEqual(ok.status, 303)
        assert.strictEqual(new URL(ok.headers.get("location")!, `${url}/dashboard/login`).pathname, "/dashboard")
        const cookie = ok.headers.get("set-cookie") ?? ""
        assert.match(cookie, /HttpOnly/i)
        assert.match(cookie, /SameSite=Strict/i)
        assert.match(cookie, /Path=\//)
        assert.notInclude(cookie, TOKEN)
        assert.match(cookie, /Max-Age=43200/)
        const pair = cookie.split(";")[0]!
        const name = sessionCookieName(Number(new URL(url).port))
        assert.isTrue(pair.startsWith(`${name}=`))

        const second = (yield* post(TOKEN)).headers.get("set-cookie")!.split(";")[0]!
        assert.notStrictEqual(second, pair, "a random id per login, never derived from the token")

        const after = yield* get(`${url}/dashboard`, { headers: { cookie: pair } })
        assert.strictEqual(after.status, 200)
        const rotated = after.headers.get("set-cookie")!.split(";")[0]!
        assert.notStrictEqual(rotated, pair, "a page load rotates the session")
        assert.strictEqual(
          (yield* get(`${url}/dashboard`, { headers: { cookie: pair } })).status,
          303,
          "the old id ended"
        )
        const bad = yield* get(`${url}/dashboard`, { headers: { cookie: `${name}=forged` } })
        assert.strictEqual(bad.status, 303)

        const auth = yield* AuthToken
        const host = new URL(url).host
        const request = (c: string) =>
          HttpServerRequest.fromWeb(new Request(`${url}/peers`, { headers: { cookie: c, host } }))
        assert.isTrue(hasDashboardSession(auth, request(rotated)))
        assert.isTrue(hasDashboardSession(auth, request(second)))
        assert.isFalse(hasDashboardSession(auth, request(`${name}=x`)))
        assert.isFalse(hasDashboardSession(auth, request("")))

        const out = yield* get(`${url}/dashboard/logout`, { method: "POST", headers: { cookie: rotated } })
        assert.strictEqual(out.status, 303)
        assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/)
        assert.isFalse(hasDashboardSession(auth, request(rotated)), "logout ends the session at the daemon")
        assert.strictEqual((yield* get(`${url}/dashboard`, { headers: { cookie: rotated } })).status, 303)
      }).pipe(Effect.provide(server(home, outDir, { auth_token: TOKEN })))
    ))

  it.live("says so when the dashboard was not built", () =>
    Effect.gen(function*() {
      const home = yield* tempHome()
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        assert.strictEqual((yield* get(`${url}/dashboard`)).status, 503)
      }).pipe(Effect.provide(server(home, path.join(home, "missing"), {})))
    }).pipe(Effect.scoped))
})
