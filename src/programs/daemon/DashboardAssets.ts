import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export interface DashboardAssets {
  readonly indexHtml: string
  /** Hashed file name → bytes. */
  readonly files: ReadonlyMap<string, Uint8Array>
  readonly css: string | undefined
}

/** Where the built dashboard lives: beside the bundled bin (dist/), or dist/ of a source checkout. */
export const defaultAssetsDir = (): string => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [path.join(here, "dashboard"), path.join(here, "../../../dist/dashboard")]
  return candidates.find((dir) => fs.existsSync(path.join(dir, "index.html"))) ?? candidates[candidates.length - 1]!
}

/** Reads the build once; it is small (a few files) and immutable while the daemon runs. */
export const loadDashboardAssets = (dir: string): DashboardAssets | undefined => {
  try {
    const indexHtml = fs.readFileSync(path.join(dir, "index.html"), "utf8")
    const assetsDir = path.join(dir, "assets")
    const files = new Map<string, Uint8Array>()
    for (const name of fs.readdirSync(assetsDir)) files.set(name, fs.readFileSync(path.join(assetsDir, name)))
    return { indexHtml, files, css: [...files.keys()].find((n) => n.endsWith(".css")) }
  } catch {
    return undefined
  }
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2"
}

export const assetContentType = (name: string): string => TYPES[path.extname(name)] ?? "application/octet-stream"
