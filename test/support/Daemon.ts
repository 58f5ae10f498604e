import { Effect, Layer, ManagedRuntime } from "effect"
import { readFileSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigMemory } from "../../src/layers/ConfigLive.js"
import { makeDaemonLive } from "../../src/programs/daemon/Server.js"

export interface TestDaemon {
  readonly home: string
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

export const tempHome = (label = "repowire-test-") => mkdtemp(path.join(os.tmpdir(), label))

const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k]
    out[k] = typeof v === "object" && v !== null && !Array.isArray(v) && typeof prev === "object" && prev !== null
      ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
      : v
  }
  return out
}

/**
 * The real daemon in this process: port 0, SQLite in a temp REPOWIRE_HOME. `directRoutes:
 * false` serves the agents' message calls through the HTTP app too, as tunnelled ones are.
 */
export const startDaemon = async (
  config: Record<string, unknown> = {},
  home?: string,
  options: { readonly directRoutes?: boolean } = {}
): Promise<TestDaemon> => {
  const dir = home ?? await tempHome()
  const raw = merge({ daemon: { port: 0 }, logging: { level: "error" } }, config)
  const daemon = makeDaemonLive({ directRoutes: options.directRoutes ?? true })
  const runtime = ManagedRuntime.make(daemon.pipe(Layer.provide(ConfigMemory(dir, raw))))
  await runtime.runPromise(Effect.void)
  const info = JSON.parse(readFileSync(path.join(dir, "daemon.json"), "utf8")) as { url: string; port: number }
  return { home: dir, url: info.url, port: info.port, close: () => runtime.dispose() }
}
