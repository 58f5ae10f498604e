import { createHash } from "node:crypto"

/**
 * What the daemon answers an unsealed browser that reaches `/dashboard` through the relay
 * while `relay.e2e` is `required`: a fixed page with no data of the daemon's in it. Its bytes
 * never change between requests, so `repowire relay pair` can print their SHA-256.
 */
export const LOADER_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repowire: pair this browser</title>
<h1>Pair this browser</h1>
<p>This daemon answers the relay only through a sealed channel from a paired browser.</p>
<p>Pair this browser: run <code>repowire relay pair</code> on the daemon's machine and open the link it prints.</p>
</html>
`

export const LOADER_SHA256 = createHash("sha256").update(LOADER_PAGE).digest("hex")

/** No script, no style, no framing: the page is text only. */
export const LOADER_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
