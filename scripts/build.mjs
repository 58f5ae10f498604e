// Bundles the CLI into dist/ so `repowire` starts without a TypeScript loader, and builds
// the dashboard's static assets when the dashboard sources are present.
import { build } from "esbuild"
import { existsSync } from "node:fs"
import { mkdir, readdir, rm } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
await mkdir(join(root, "dist"), { recursive: true })
// Chunk names carry content hashes: clear the old ones so dist/ holds one build.
for (const name of await readdir(join(root, "dist"))) {
  if (name.endsWith(".mjs") || name.endsWith(".mjs.map")) await rm(join(root, "dist", name))
}

await build({
  // The audit worker is its own entry: the relay starts it as a worker_threads thread.
  entryPoints: { bin: join(root, "src/bin.ts"), auditWorker: join(root, "src/layers/audit/AuditWorker.ts") },
  outdir: join(root, "dist"),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Dependencies are bundled too: one parsed file starts far faster than hundreds of
  // resolved modules. Native and optional modules stay outside.
  external: ["better-sqlite3", "bufferutil", "utf-8-validate", "playwright-core"],
  // REPOWIRE_BUILD_DEBUG=1 keeps the output readable for profiling.
  minify: process.env.REPOWIRE_BUILD_DEBUG !== "1",
  keepNames: true,
  sourcemap: "linked",
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __repowireRequire } from \"node:module\";\n" +
      "const require = __repowireRequire(import.meta.url);"
  },
  logLevel: "warning"
})

const dashboardBuild = join(root, "dashboard/build.mjs")
if (existsSync(dashboardBuild)) {
  const { buildDashboard } = await import(dashboardBuild)
  await buildDashboard()
}
