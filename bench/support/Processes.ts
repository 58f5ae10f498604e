import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { DAEMON_NODE_FLAGS } from "../../src/programs/daemon/Launcher.js"

const root = path.resolve(import.meta.dirname, "../..")
export const BIN = path.join(root, "dist/bin.mjs")

/** CPU seconds (user + system) a process has used, from /proc. */
export const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const rssBytes = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024
}

/** A server that writes `daemon.json` in its temp home once it listens, as the daemon does. */
const startInHome = async (
  name: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  prepare: (home: string) => void = () => {}
) => {
  const home = await mkdtemp(path.join(os.tmpdir(), "repowire-bench-"))
  prepare(home)
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      REPOWIRE_HOME: home,
      REPOWIRE_DAEMON__PORT: "0",
      REPOWIRE_LOGGING__LEVEL: "warning",
      ...env
    },
    stdio: ["ignore", "ignore", "inherit"]
  })
  const runtime = path.join(home, "daemon.json")
  for (let i = 0; i < 300; i++) {
    if (existsSync(runtime)) {
      const info = JSON.parse(readFileSync(runtime, "utf8")) as { url: string; pid: number }
      if (info.pid === child.pid) return { child, url: info.url, home }
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill("SIGKILL")
  throw new Error(`${name} did not start`)
}

/** `repowire serve` on port 0 in a temp home. */
export const startDaemonProcess = (env: Record<string, string> = {}, prepare?: (home: string) => void) =>
  // Started as users start it (`npm start`, `repowire daemon start`): with the daemon's Node flags.
  startInHome("the daemon", [...DAEMON_NODE_FLAGS, BIN, "serve"], env, prepare)

/** The ask floor (AskFloor.mjs), with the daemon's Node flags. */
export const startAskFloor = () =>
  startInHome("the ask floor", [...DAEMON_NODE_FLAGS, path.join(import.meta.dirname, "AskFloor.mjs")], {})

export const startBaseline = () =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, "WsBaseline.mjs")], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.stdout!.once("data", (d) => resolve({ child, url: `ws://127.0.0.1:${String(d).trim()}` }))
    child.once("error", reject)
  })
