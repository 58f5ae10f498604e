// Bundles the CLI into dist/ so `repowire` starts without a TypeScript loader, and builds
// the dashboard's static assets when the dashboard sources are present.
import { build } from "esbuild"
import { existsSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
await mkdir(join(root, "dist"), { recursive: true })

await build({
  entryPoints: { bin: join(root, "src/bin.ts") },
  outdir: join(root, "dist"),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning"
})

const dashboardBuild = join(root, "dashboard/build.mjs")
if (existsSync(dashboardBuild)) {
  const { buildDashboard } = await import(dashboardBuild)
  await buildDashboard()
}
