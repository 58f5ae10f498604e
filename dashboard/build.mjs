// Builds the dashboard into dist/dashboard: hashed, minified assets plus index.html. Every
// URL in the page is relative, so the daemon (/dashboard) and the relay serve the same files.
import { build } from "esbuild"
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")

export async function buildDashboard({ outDir: finalDir = join(root, "dist/dashboard"), quiet = false } = {}) {
  // Build beside the target and swap it in, so a daemon starting meanwhile never sees half a build.
  const suffix = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const outDir = `${finalDir}.tmp-${suffix}`
  const assetsDir = join(outDir, "assets")
  await mkdir(assetsDir, { recursive: true })
  const result = await build({
    entryPoints: { app: join(here, "src/main.tsx"), style: join(here, "src/styles.css") },
    outdir: assetsDir,
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    metafile: true,
    logLevel: "warning"
  })
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p))
  const js = outputs.find((f) => f.startsWith("app-") && f.endsWith(".js"))
  const css = outputs.find((f) => f.startsWith("style-") && f.endsWith(".css"))
  if (js === undefined || css === undefined) throw new Error(`dashboard build produced ${outputs.join(", ")}`)
  // The page lives at …/dashboard (no trailing slash), so its assets are dashboard/assets/….
  const html = (await readFile(join(here, "index.html"), "utf8"))
    .replace("%JS%", `dashboard/assets/${js}`)
    .replace("%CSS%", `dashboard/assets/${css}`)
  await writeFile(join(outDir, "index.html"), html)
  const jsBytes = await readFile(join(assetsDir, js))
  const cssBytes = await readFile(join(assetsDir, css))
  const manifest = {
    js,
    css,
    jsBytes: jsBytes.length,
    jsGzipBytes: gzipSync(jsBytes, { level: 9 }).length,
    cssGzipBytes: gzipSync(cssBytes, { level: 9 }).length
  }
  const loader = await buildLoaderScript()
  manifest.loaderBytes = Buffer.byteLength(loader.script)
  manifest.loaderGzipBytes = gzipSync(loader.script, { level: 9 }).length
  await writeFile(join(outDir, "loader.html"), await loaderPage(loader.script))
  await writeFile(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2))
  const old = `${finalDir}.old-${suffix}`
  await rename(finalDir, old).catch(() => undefined)
  await rename(outDir, finalDir)
  await rm(old, { recursive: true, force: true })
  if (!quiet && process.env.CI !== undefined) {
    console.error(`dashboard: ${js} ${manifest.jsGzipBytes} B gzipped, ${css} ${manifest.cssGzipBytes} B gzipped`)
  }
  return manifest
}

/**
 * The sealed dashboard's loader script, and the source files it was bundled from. It bundles the
 * Effect-free sealed core (src/protocol/sealed/core), no package: small enough to read.
 */
export async function buildLoaderScript() {
  const result = await build({
    entryPoints: [join(here, "src/sealed/loader.ts")],
    write: false,
    bundle: true,
    minify: true,
    format: "iife",
    platform: "browser",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    legalComments: "none",
    metafile: true,
    logLevel: "warning"
  })
  const script = result.outputFiles[0].text.trim()
  if (script.includes("</script")) throw new Error("the loader's script cannot be inlined: it contains </script")
  return { script, inputs: Object.keys(result.metafile.inputs) }
}

/**
 * The sealed dashboard's loader page: one inline script (the page's CSP pins its hash), no
 * other asset, so the page's SHA-256 covers all the code a relay serves for it.
 */
async function loaderPage(script) {
  const template = await readFile(join(here, "loader.html"), "utf8")
  return template.replace("%LOADER%", () => script)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = await buildDashboard({ quiet: true })
  console.log(JSON.stringify(manifest))
}
