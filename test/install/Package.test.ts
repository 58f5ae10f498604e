import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"

/**
 * The package as users get it: `npm pack`, then `npm install -g` of the tarball into a temp
 * prefix, offline (npm compiles better-sqlite3 from the bundled sources; minutes on a small
 * machine). The one test in the suite that does this.
 */
const root = path.resolve(__dirname, "..", "..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "rw-package-"))
const prefix = path.join(work, "prefix")
let tarball = ""
let files: ReadonlyArray<string> = []

// Asynchronous: a synchronous child for minutes would starve the test worker's own messages.
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(
      "npm",
      args,
      { cwd, encoding: "utf8", timeout: 900_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`npm ${args.join(" ")}: ${error.message}\n${stderr}`)) : resolve(stdout)
    )
  )

beforeAll(async () => {
  const packed = JSON.parse(await npm(["pack", "--json", "--pack-destination", work], root)) as Array<
    { filename: string; files: Array<{ path: string }> }
  >
  tarball = path.join(work, packed[0]!.filename)
  files = packed[0]!.files.map((f) => f.path)
  await npm(["install", "-g", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball], work)
}, 900_000)

const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
})

/** `repowire serve` from an install on a free port; its URL once it listens. */
const serve = async (binDir: string, home: string) => {
  const child = spawn(path.join(binDir, "repowire"), ["serve"], {
    env: { PATH: `${binDir}:/usr/bin:/bin`, HOME: home, REPOWIRE_HOME: home, REPOWIRE_DAEMON__PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.push(child)
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    try {
      const info = JSON.parse(fs.readFileSync(path.join(home, "daemon.json"), "utf8")) as { pid: number; url: string }
      if (info.pid === child.pid) return { child, url: info.url }
    } catch {
      // not yet
    }
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the installed daemon did not start: ${output}`)
}

describe("npm pack + npm install -g", () => {
  it("the tarball holds the bundle and the dashboard build, no sources or source maps", () => {
    assert.include(files, "dist/bin.mjs")
    assert.include(files, "dist/dashboard/index.html")
    assert.isTrue(files.some((f) => /^dist\/dashboard\/assets\/app-.*\.js$/.test(f)))
    assert.isTrue(files.some((f) => f.startsWith("node_modules/better-sqlite3/")), "better-sqlite3 is bundled")
    assert.isFalse(files.some((f) => f.startsWith("src/") || f.endsWith(".map")), files.join("\n"))
    const manifest = JSON.parse(
      fs.readFileSync(path.join(prefix, "lib", "node_modules", "repowire", "package.json"), "utf8")
    )
    assert.notProperty(manifest, "private")
    assert.deepStrictEqual(Object.keys(manifest.dependencies), ["better-sqlite3"])
  })

  it("repowire --version, and serve with the dashboard and its assets", async () => {
    const binDir = path.join(prefix, "bin")
    assert.strictEqual(execFileSync(path.join(binDir, "repowire"), ["--version"], { encoding: "utf8" }).trim(), "0.1.0")
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "rw-installed-"))
    const { child, url } = await serve(binDir, home)
    const page = await fetch(`${url}/dashboard`)
    assert.strictEqual(page.status, 200)
    const html = await page.text()
    const assets = [...html.matchAll(/(?:src|href)="([^"]*assets\/[^"]+)"/g)].map((m) => m[1]!)
    assert.isAtLeast(assets.length, 2, html)
    for (const asset of assets) {
      const res = await fetch(new URL(asset, `${url}/dashboard`))
      assert.strictEqual(res.status, 200, asset)
      assert.isAbove((await res.arrayBuffer()).byteLength, 100)
    }
    child.kill("SIGTERM")
    await new Promise((r) => child.once("exit", r))
  }, 60_000)

  it("what setup writes keeps working after the install moves", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "rw-agent-home-"))
    const repowireHome = path.join(home, ".repowire")
    fs.mkdirSync(path.join(home, ".claude"))
    const env = (binDir: string) => ({
      PATH: `${binDir}:/usr/bin:/bin`,
      HOME: home,
      REPOWIRE_HOME: repowireHome,
      REPOWIRE_DAEMON__PORT: "1"
    })
    const setup = spawnSync(path.join(prefix, "bin", "repowire"), ["setup", "--yes"], {
      env: env(path.join(prefix, "bin")),
      encoding: "utf8"
    })
    assert.strictEqual(setup.status, 0, setup.stderr)
    const settings = JSON.parse(fs.readFileSync(path.join(home, ".claude", "settings.json"), "utf8")) as {
      hooks: Record<string, Array<{ hooks: Array<{ command: string }> }>>
    }
    const stop = settings.hooks.Stop![0]!.hooks[0]!.command
    assert.strictEqual(stop, `${path.join(repowireHome, "bin", "repowire")} hook stop --backend claude-code`)

    // Move the whole install (a new prefix, a new Node version manager folder...).
    const moved = path.join(work, "moved-prefix")
    fs.renameSync(prefix, moved)
    const runHook = (binDir: string) =>
      spawnSync("sh", ["-c", stop], {
        env: env(binDir),
        input: JSON.stringify({ hook_event_name: "Stop", cwd: home }),
        encoding: "utf8"
      })
    const viaPath = runHook(path.join(moved, "bin"))
    assert.strictEqual(viaPath.status, 0, viaPath.stderr)
    assert.notInclude(viaPath.stderr, "is gone")
    assert.include(viaPath.stderr, "daemon not reachable", "the hook ran, and says why it could not reach the daemon")

    // Any command from the moved install points the shim at it again.
    spawnSync(path.join(moved, "bin", "repowire"), ["--version"], { env: env(path.join(moved, "bin")) })
    assert.include(fs.readFileSync(path.join(repowireHome, "bin", "repowire"), "utf8"), moved)
    const direct = runHook("/nonexistent")
    assert.strictEqual(direct.status, 0, direct.stderr)
    assert.notInclude(direct.stderr, "is gone")
    fs.renameSync(moved, prefix)
  }, 60_000)
})
