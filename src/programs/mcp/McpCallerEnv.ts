import { Effect, Layer, Ref } from "effect"
import { Config } from "../../services/Config.js"
import { DaemonClient } from "../../services/DaemonClient.js"
import { CallerError, type CallerPeer, McpCaller } from "../../services/McpCaller.js"
import { type AgentBackend, resolveIdentity } from "../agent/Identity.js"
import { ensurePeerSession, renewPeerSession } from "../agent/PeerSession.js"
import type { SessionRecord } from "../agent/Sessions.js"
import { ensureDaemon } from "../daemon/Launcher.js"

const toPeer = (s: SessionRecord): CallerPeer => ({
  peer_id: s.peer_id,
  token: s.token,
  display_name: s.display_name,
  circle: s.circle,
  backend: s.backend
})

/**
 * The stdio MCP server's caller: the agent session it runs in (tmux pane, working directory,
 * backend), sharing its session file with the hooks so both act as one peer. Registered on the
 * first tool call through the DaemonClient; a daemon that is not running is started once.
 */
export const McpCallerEnv = (backend: AgentBackend, env: NodeJS.ProcessEnv = process.env) =>
  Layer.effect(
    McpCaller,
    Effect.gen(function*() {
      const config = yield* Config
      const client = yield* DaemonClient
      const identity = resolveIdentity(backend, env, process.cwd())
      const cached = yield* Ref.make<CallerPeer | undefined>(undefined)
      const attempt = (fresh: boolean) =>
        Effect.flatMap(Ref.get(cached), (stale) =>
          fresh ? renewPeerSession(identity, env, stale?.peer_id) : ensurePeerSession(identity, env))
      const register = (fresh: boolean) =>
        attempt(fresh).pipe(
          Effect.catchTag("DaemonUnreachable", () =>
            Effect.tryPromise({
              try: () =>
                ensureDaemon(config.paths, config.values),
              catch: (e) => new CallerError({ message: e instanceof Error ? e.message : String(e) })
            }).pipe(Effect.zipRight(attempt(fresh)))),
          Effect.map(toPeer),
          Effect.tap((peer) => Ref.set(cached, peer)),
          Effect.mapError((e) => new CallerError({ message: e.message })),
          Effect.provideService(Config, config),
          Effect.provideService(DaemonClient, client)
        )
      return McpCaller.of({
        get: Effect.flatMap(Ref.get(cached), (peer) => (peer ? Effect.succeed(peer) : register(false))),
        renew: register(true)
      })
    })
  )
