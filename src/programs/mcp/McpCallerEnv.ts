import { Effect, Layer, Redacted, Ref } from "effect"
import { daemonUrl } from "../../protocol/HomeFiles.js"
import { Config } from "../../services/Config.js"
import { CallerError, type CallerPeer, McpCaller } from "../../services/McpCaller.js"
import { DaemonUnreachableError } from "../agent/DaemonHttp.js"
import { type AgentBackend, resolveIdentity } from "../agent/Identity.js"
import { ensureSession, renewSession } from "../agent/Registration.js"
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
 * first tool call; a daemon that is not running is started once.
 */
export const McpCallerEnv = (backend: AgentBackend, env: NodeJS.ProcessEnv = process.env) =>
  Layer.effect(
    McpCaller,
    Effect.gen(function*() {
      const config = yield* Config
      const identity = resolveIdentity(backend, env, process.cwd())
      const target = () => ({
        baseUrl: daemonUrl(config.paths, config.values),
        authToken: config.authToken ? Redacted.value(config.authToken) : null
      })
      const cached = yield* Ref.make<CallerPeer | undefined>(undefined)
      const attempt = (fresh: boolean) =>
        Effect.flatMap(Ref.get(cached), (stale) =>
          Effect.tryPromise({
            try: () => (fresh
              ? renewSession(identity, target(), env, stale?.peer_id)
              : ensureSession(identity, target(), env)),
            catch: (e) => e
          }))
      const register = (fresh: boolean) =>
        attempt(fresh).pipe(
          Effect.catchIf((e) => e instanceof DaemonUnreachableError, () =>
            Effect.tryPromise({
              try: () => ensureDaemon(config.paths, config.values),
              catch: (e) => e
            }).pipe(
              Effect.zipRight(attempt(fresh))
            )),
          Effect.map(toPeer),
          Effect.tap((peer) => Ref.set(cached, peer)),
          Effect.mapError((e) => new CallerError({ message: e instanceof Error ? e.message : String(e) }))
        )
      return McpCaller.of({
        get: Effect.flatMap(Ref.get(cached), (peer) => (peer ? Effect.succeed(peer) : register(false))),
        renew: register(true)
      })
    })
  )
