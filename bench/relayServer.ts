/** A relay in its own process, so the bench can read its RSS alone. Prints {"port":N} when listening. */
import { Effect, Fiber, Layer } from "effect"
import * as fs from "node:fs"
import { AuditLive } from "../src/layers/audit/AuditLive.js"
import { RelayLive } from "../src/layers/RelayLive.js"
import { defaultRelayOptions } from "../src/programs/relay/RelayContext.js"
import { makeRelayServer } from "../src/programs/relay/RelayServer.js"

const env = process.env
// The bench asks for a collection before it reads RSS, so garbage does not count as tunnels.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())
// The bench asks for this process's CPU time (µs, all threads) to report the relay's cost per request.
process.on("message", (m) => m === "cpu" && process.send?.(process.cpuUsage()))
const main = Effect.gen(function*() {
  const server = yield* makeRelayServer({
    ...defaultRelayOptions,
    host: "127.0.0.1",
    port: 0,
    drainMs: 0,
    // The bench dials its 2,000 idle tunnels with one key, 50 at a time from one address.
    maxUnauthenticatedPerClient: 64,
    maxTunnelsPerKey: 4096,
    tls: { cert: fs.readFileSync(env.RELAY_CERT!), key: fs.readFileSync(env.RELAY_KEY!) }
  })
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  // RELAY_AUDIT_DIR: the audit log on, as `relay serve` runs it (the audit bench compares both).
  Effect.provide(
    env.RELAY_AUDIT_DIR === undefined
      ? RelayLive(env.RELAY_DB!)
      : AuditLive(env.RELAY_AUDIT_DIR, {
        worker: env.RELAY_AUDIT_INLINE === "1" ? undefined : { databaseUrl: undefined, sqliteFile: env.RELAY_DB! }
      }).pipe(Layer.provideMerge(RelayLive(env.RELAY_DB!)))
  ),
  Effect.runFork
)
// Stopped as `relay serve` is: the scope closes, so the audit log writes what it has queued
// (within five seconds, which no bench's close needs).
process.on("SIGTERM", () => {
  setTimeout(() => process.exit(0), 5000).unref()
  void Effect.runPromise(Fiber.interrupt(main)).finally(() => process.exit(0))
})
