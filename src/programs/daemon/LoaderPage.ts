import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { defaultAssetsDir } from "./DashboardAssets.js"

/**
 * What the daemon answers an unsealed browser that reaches `/dashboard` through the relay
 * while `relay.e2e` is `required`: a fixed page with no data of the daemon's in it. Built, it
 * is the sealed dashboard's loader (dist/dashboard/loader.html: its one inline script pairs or
 * opens the sealed channel and starts the app it fetches through it); unbuilt, text only. Its
 * bytes never change between requests, so `repowire relay pair` can print their SHA-256.
 */
export const TEXT_ONLY_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repowire: pair this browser</title>
<h1>Pair this browser</h1>
<p>This daemon answers the relay only through a sealed channel from a paired browser.</p>
<p>Pair this browser: run <code>repowire relay pair</code> on the daemon's machine and open the link it prints.</p>
</html>
`

export interface LoaderPage {
  readonly html: string
  readonly csp: string
  /** SHA-256 of `html`, hex. */
  readonly sha256: string
}

const sha256 = (text: string, encoding: "hex" | "base64") => createHash("sha256").update(text).digest(encoding)

/** No script, no style, no framing: the page is text only. */
const TEXT_ONLY_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The loader's own script by its hash and nothing else inline; the app's script and style only
 * from blob: URLs (the loader makes them from what the daemon sent through the channel); network
 * connections only back to this origin.
 */
const loaderCsp = (scriptHash: string) =>
  [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}' blob:`,
    "style-src blob:",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'"
  ].join("; ")

const fromHtml = (html: string): LoaderPage | undefined => {
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1]
  if (script === undefined) return undefined
  return { html, csp: loaderCsp(sha256(script, "base64")), sha256: sha256(html, "hex") }
}

export const textOnlyLoader: LoaderPage = {
  html: TEXT_ONLY_PAGE,
  csp: TEXT_ONLY_CSP,
  sha256: sha256(TEXT_ONLY_PAGE, "hex")
}

/** The loader of the dashboard build in `dir` (dist/dashboard), else the text-only page. */
export const loadLoaderPage = (dir: string = defaultAssetsDir()): LoaderPage => {
  try {
    return fromHtml(fs.readFileSync(path.join(dir, "loader.html"), "utf8")) ?? textOnlyLoader
  } catch {
    return textOnlyLoader
  }
}
