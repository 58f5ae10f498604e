import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

const page = `<!doctype html><html><head><meta charset="utf-8"><title>repowire</title></head>
<body><h1>repowire</h1><p>The daemon is running. The dashboard is not built yet.</p></body></html>`

export const DashboardPlaceholderRoute = HttpLayerRouter.add(
  "GET",
  "/dashboard",
  Effect.succeed(HttpServerResponse.html(page).pipe(
    HttpServerResponse.setHeader("content-security-policy", "default-src 'none'")
  ))
)
