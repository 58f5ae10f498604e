import { HttpServerResponse } from "@effect/platform"
import { createHash } from "node:crypto"
import { type AnyWireError, errorResponse } from "../../protocol/Errors.js"
import type { DaemonSeen } from "../../services/RelayRouter.js"

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/**
 * A pairing link (`/dashboard#pair=…`) opened while signed out lands here with its fragment;
 * the forms carry it on (in their action's fragment, which never reaches the relay) so the
 * dashboard the sign-in redirects to still gets it. The pages' only script, pinned by its hash.
 */
const CARRY_PAIRING_LINK =
  `if(location.hash.startsWith("#pair="))for(const f of document.forms)f.action=f.getAttribute("action")+location.hash`

const scriptHash = createHash("sha256").update(CARRY_PAIRING_LINK).digest("base64")

export const securityHeaders = (tls: boolean): Record<string, string> => ({
  "content-security-policy":
    `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'`,
  "x-content-type-options": "nosniff",
  // same-origin: with no-referrer Chromium sends `Origin: null` on the key form's POST, which the
  // sameOrigin check refuses, so a real browser could never log in.
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  ...(tls ? { "strict-transport-security": "max-age=31536000" } : {})
})

const layout = (title: string, body: string) =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}input,button{font:inherit;padding:.5rem;margin:.25rem 0}input{width:100%;box-sizing:border-box}
.error{color:#b00020;background:#fdecee;padding:.5rem;border-radius:4px}.muted{color:#666;font-size:.9rem}
li{margin:.4rem 0}
</style></head><body>${body}<script>${CARRY_PAIRING_LINK}</script></body></html>`

export const landingPage = (error?: string) =>
  layout(
    "repowire relay",
    `<h1>repowire relay</h1>
<p>Sign in with your relay key to reach your dashboard.</p>
${error === undefined ? "" : `<p class="error" role="alert">${escape(error)}</p>`}
<form method="post" action="/auth">
<label for="key">Relay key</label>
<input id="key" name="key" type="password" autocomplete="off" placeholder="rw_…" required>
<button type="submit">Open dashboard</button>
</form>
<p class="muted">Your key is in <code>~/.repowire/config.yaml</code> (relay.api_key) on the machine running the daemon.</p>`
  )

export const pickerPage = (daemons: ReadonlyArray<DaemonSeen>, error?: string) =>
  layout(
    "Choose a daemon",
    `<h1>Choose a daemon</h1>
${error === undefined ? "" : `<p class="error" role="alert">${escape(error)}</p>`}
<ul>${
      daemons.map((d) =>
        `<li><form method="post" action="/select"><input type="hidden" name="daemon_id" value="${escape(d.daemon_id)}">
<button type="submit"${d.connected ? "" : " disabled"}>${escape(d.daemon_id)}</button>
<span class="muted">${d.connected ? "connected" : `offline, last seen ${escape(d.last_seen)}`}</span></form></li>`
      ).join("")
    }</ul>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`
  )

/** A page of the relay's own, with its security headers. */
export const htmlPage = (html: string, tls: boolean) =>
  HttpServerResponse.text(html, { contentType: "text/html; charset=utf-8", headers: securityHeaders(tls) })

/** A refused form: the page again, with the error's message inline and its status. */
export const pageError = (
  error: AnyWireError,
  page: (message: string) => string,
  tls: boolean,
  extra: Record<string, string> = {}
) => errorResponse(error, { ...securityHeaders(tls), ...extra }, page)

/** What the relay's JSON answers carry besides the body. */
export const jsonHeaders = { "cache-control": "no-store", "x-content-type-options": "nosniff" } as const

/** A JSON answer of the relay's own (health, issued keys). */
export const jsonAnswer = (value: unknown, status?: number) =>
  HttpServerResponse.unsafeJson(value, { headers: jsonHeaders, ...(status === undefined ? {} : { status }) })

/** A refused API call: the error envelope. */
export const apiError = (error: AnyWireError, extra: Record<string, string> = {}) =>
  errorResponse(error, { ...jsonHeaders, ...extra })

/** A redirect after a form (303: the browser follows with a GET). */
export const seeOther = (location: string, extra: Record<string, string> = {}) =>
  HttpServerResponse.empty({ status: 303, headers: { location, "cache-control": "no-store", ...extra } })
