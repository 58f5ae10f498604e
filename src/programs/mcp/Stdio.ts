import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Effect, Layer, ManagedRuntime } from "effect"
import { ConfigLive } from "../../layers/ConfigLive.js"
import { DaemonClientLive } from "../../layers/DaemonClientLive.js"
import { StderrLogger } from "../../layers/StderrLogger.js"
import type { AgentBackend } from "../agent/Identity.js"
import { McpCallerEnv } from "./McpCallerEnv.js"
import { makeMcpServer } from "./Tools.js"

export const McpStdioLayer = (backend: AgentBackend) =>
  McpCallerEnv(backend).pipe(
    Layer.provideMerge(DaemonClientLive),
    Layer.provide(ConfigLive),
    Layer.provideMerge(StderrLogger)
  )

/** Serves MCP on stdin/stdout until the client hangs up. */
export const serveStdio = (backend: AgentBackend, version: string) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.acquireRelease(
      Effect.sync(() => ManagedRuntime.make(McpStdioLayer(backend))),
      (rt) => rt.disposeEffect
    )
    yield* runtime.runtimeEffect
    const server = makeMcpServer(runtime, version)
    const transport = new StdioServerTransport()
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(transport)),
      () => Effect.promise(() => server.close())
    )
    yield* Effect.async<void>((resume) => {
      transport.onclose = () => resume(Effect.void)
      process.stdin.once("end", () => resume(Effect.void))
    })
  }).pipe(Effect.scoped, Effect.provide(StderrLogger))
